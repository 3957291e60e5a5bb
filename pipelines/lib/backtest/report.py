"""Write a backtest's scores: a text table for the terminal, CSV and JSON for tools, and an HTML
page with inline SVG charts in the night report's style (no script, opens offline)."""

from __future__ import annotations

import html
import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.lib.metrics_charts import line_chart
from pipelines.lib.outreach.report import STYLE

from .replay import HORIZON_MONTHS, Signal

COLUMNS = ("month", "signal", "loans", "flagged", "payoffs", "flagged_payoffs", "recall",
           "payoff_rate_flagged", "payoff_rate_unflagged", "lift")
DEFINITIONS = (
    f"loans: replayed loans in the book at the month end (funded, no zero balance known). "
    f"flagged: loans meeting the signal's conditions that night. payoffs: loans whose "
    f"zero_balance_code 01 falls in the next {HORIZON_MONTHS} calendar months. recall = "
    f"flagged payoffs / payoffs. lift = payoff rate of flagged loans / payoff rate of the "
    f"others. n/a: a zero denominator. The pooled row sums loan-months over every month."
)


def _rows(scores: pl.DataFrame) -> list[dict[str, Any]]:
    return scores.with_columns(
        month=pl.col("as_of_date").dt.strftime("%Y-%m").fill_null("pooled")
    ).select(COLUMNS).to_dicts()


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.1%}" if pct else f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _cells(row: dict[str, Any]) -> list[str]:
    return [row["month"], row["signal"], *(_fmt(row[c]) for c in COLUMNS[2:6]),
            *(_fmt(row[c], pct=True) for c in COLUMNS[6:9]), _fmt(row["lift"])]


HEADINGS = ("month", "signal", "loans", "flagged", f"payoffs {HORIZON_MONTHS}m",
            "flagged payoffs", "recall", "payoff rate flagged", "payoff rate unflagged", "lift")


def text_table(scores: pl.DataFrame) -> str:
    rows = [HEADINGS, *(_cells(r) for r in _rows(scores))]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADINGS))]
    return "\n".join(
        "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                  enumerate(zip(r, widths))).rstrip()
        for r in rows
    )


def _html_table(scores: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADINGS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>"
        for r in _rows(scores)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _legend(signal: Signal, campaign: str) -> str:
    # The chart legend is narrow: the backtested campaign's name goes without saying.
    return signal.name.removeprefix(f"{campaign} ")


def _series(scores: pl.DataFrame, signals: list[Signal], column: str, campaign: str,
            scale: float = 1.0) -> list[tuple[str, list[tuple[date, float]]]]:
    monthly = scores.drop_nulls("as_of_date")
    return [
        (_legend(s, campaign), [(d, v * scale) for d, v in monthly.filter(
            pl.col("signal") == s.name).select("as_of_date", column).drop_nulls().iter_rows()])
        for s in signals
    ]


def render_html(scores: pl.DataFrame, signals: list[Signal], meta: dict[str, Any]) -> str:
    monthly = scores.drop_nulls("as_of_date")
    start, end = monthly["as_of_date"].min(), monthly["as_of_date"].max()
    first = monthly.filter(pl.col("signal") == signals[0].name)
    counts = [
        ("loans in book", list(first.select("as_of_date", "loans").iter_rows())),
        (f"payoffs next {HORIZON_MONTHS}m",
         list(first.select("as_of_date", "payoffs").iter_rows())),
        *((f"flagged: {_legend(s, meta['campaign'])}",
           list(monthly.filter(pl.col("signal") == s.name)
                .select("as_of_date", "flagged").iter_rows()))
          for s in signals),
    ]
    title = (f"xsell backtest: {meta['campaign']} {meta['from']} to {meta['to']}")
    rules = "".join(f"<li><b>{html.escape(s.name)}</b>: {html.escape(s.describe())}</li>"
                    for s in signals)
    files = "".join(f"<li>{html.escape(f)}</li>" for f in meta["performance_files"])
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}td:nth-child(2){{text-align:left}}</style></head>\n<body><h1>{title}</h1>\n"
        f"<p>Signals, with thresholds from assets/campaigns/:</p><ul>{rules}</ul>"
        f"<h2>Recall</h2>"
        + line_chart("Share of next-3-month payoffs flagged beforehand, %",
                     _series(scores, signals, "recall", meta["campaign"], 100), start, end)
        + "<h2>Lift</h2>"
        + line_chart("Payoff rate of flagged over unflagged loans",
                     _series(scores, signals, "lift", meta["campaign"]), start, end)
        + "<h2>Loans, payoffs and flags</h2>"
        + line_chart("Loans per month end", counts, start, end)
        + "<h2>By month</h2>" + _html_table(scores)
        + f'<p class="note">{html.escape(DEFINITIONS)}</p>'
        + f'<p class="note">Performance files replayed:</p><ul>{files}</ul>'
        + "\n</body></html>\n"
    )


def _write(path: Path, text: str) -> None:
    # Beside, then rename: a reader never sees half a file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_outputs(scores: pl.DataFrame, signals: list[Signal], meta: dict[str, Any],
                  out_dir: Path) -> list[Path]:
    """`<campaign>.csv`, `.json` and `.html` under out_dir; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / meta["campaign"]
    rows = _rows(scores)
    paths = [stem.with_suffix(".csv"), stem.with_suffix(".json"), stem.with_suffix(".html")]
    _write(paths[0], pl.DataFrame(rows, orient="row").select(COLUMNS).write_csv())
    document = {
        **meta,
        "definitions": DEFINITIONS,
        "signals": [{"name": s.name, "campaign": s.campaign_id, "conditions": s.describe()}
                    for s in signals],
        "rows": rows,
    }
    _write(paths[1], json.dumps(document, indent=2, default=str) + "\n")
    _write(paths[2], render_html(scores, signals, meta))
    return paths
