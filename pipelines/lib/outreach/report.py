"""The night's report: one self-contained HTML file that opens offline.

Holds first and loud; then tonight's decisions, the audiences over the last 90 nights, the
funnel, the suppression reasons, treated against control, fair-lending reach, engagement and
the portfolio figures. Charts are inline SVG; there is no script and no link to fetch. Ids
and counts only, no personal data. The bytes depend only on the warehouse and the plan, never
on the clock, so a rerun writes the same file.

History is read from the warehouse; tonight comes from the plan, so the report reads the same
whether tonight's rows are already stored (a normal night) or not (a dry run).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipelines.lib.campaigns import Campaign, load_campaigns
from pipelines.lib.metrics import (
    DECISION_COLUMNS,
    DECISIONS,
    MetricsSettings,
    audience_history,
    campaign_metrics_rows,
)
from pipelines.lib.metrics_charts import (
    bar_groups,
    entered_left_chart,
    interval_chart,
    line_chart,
)
from pipelines.lib.metrics_reach import reach_params
from pipelines.lib.metrics_sources import Tonight
from pipelines.lib.outreach.plan import NightPlan
from pipelines.lib.send_files import write_atomic

HISTORY_NIGHTS = 90
FOOTNOTE = ('<p class="note">Definitions: pipelines/lib/metrics.py and '
            "pipelines/lib/metrics_reach.py; the same figures are in marts.campaign_metrics.</p>")

# What each guard means to the person reading the report, and what releases it.
GUARD_TEXT = {
    "fair_lending.reach": "borrowers in majority-minority tracts were reached less than others; "
                          "held until a reviewer's justification is recorded in the campaign's "
                          "configuration",
    "volume.guard": "tonight's batch is far larger than the trailing median; release it with "
                    "`xsell approve`",
    "data.freshness": "the market-rate feed is stale, so no rate is quoted; load a fresh rate",
    "content.approved": "a template file has no approval on record for its current hash",
}

STYLE = """
body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#eee}td:first-child,th:first-child,td.t{text-align:left}
td.t{white-space:normal}
.holds{background:#fde2e1;border:3px solid #c0392b;padding:.6em 1em;margin:1em 0}
.holds h2{color:#c0392b;border:none;margin-top:.2em}
.ok{background:#e3f4e8;border:1px solid #1b9e77;padding:.4em 1em}
.held{color:#c0392b;font-weight:bold}.note{color:#555;font-size:90%}
.small-multiples{display:flex;flex-wrap:wrap;gap:1em}
.small-multiples figure{margin:0}figcaption{font-weight:bold;font-size:90%}
"""


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _td(value: Any) -> str:
    if isinstance(value, _Raw):
        return value
    text = _cell(value)
    prose = isinstance(value, str) and text[:1] not in "0123456789+-–"  # words, not figures
    opening = '<td class="t">' if prose else "<td>"
    return f"{opening}{html.escape(text)}</td>"


def _table(headers: Sequence[str], body: Sequence[Sequence[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    rows = "".join("<tr>" + "".join(_td(v) for v in r) + "</tr>" for r in body)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


class _Raw(str):
    """A cell already rendered as `<td>…</td>`."""


def _held_cell(text: str) -> _Raw:
    return _Raw(f'<td class="held">{html.escape(text)}</td>')


def _campaigns(plan: NightPlan) -> dict[str, Campaign]:
    found = load_campaigns()
    for c in plan.considered:
        found.setdefault(c.campaign.id, c.campaign)
    return found


# --- sections


def _holds(plan: NightPlan) -> str:
    """Campaign guards (the whole batch) and message-level holds (an unapproved template)."""
    held = Counter((c.campaign.id, c.reason or "") for c in plan.considered
                   if c.decision == "hold")
    keys = sorted(set(held) | set(plan.holds.items()))
    if not keys:
        return '<section id="holds" class="ok"><p>No holds tonight.</p></section>'
    rows = [[c, _held_cell(rule), held.get((c, rule), 0), GUARD_TEXT.get(rule, "")]
            for c, rule in keys]
    count = len({c for c, _ in keys})
    return (f'<section id="holds" class="holds"><h2>HELD: {count} campaign'
            f'{"s" if count != 1 else ""} with messages not sent tonight</h2>'
            + _table(["campaign", "rule", "messages held", "what it means"], rows)
            + "<p>Held messages are considered again next night; everything else was "
              "exported.</p></section>")


def _decisions(rows: list[dict]) -> str:
    body = [[r["campaign_id"], r["messages_considered"],
             *[r[DECISION_COLUMNS[d]] for d in DECISIONS]] for r in rows]
    body.append(["all", sum(r["messages_considered"] for r in rows),
                 *[sum(r[DECISION_COLUMNS[d]] for r in rows) for d in DECISIONS]])
    return "<h2>Tonight's decisions</h2>" + _table(["campaign", "considered", *DECISIONS], body)


def _audiences(rows: list[dict], history: dict[str, list[tuple]], as_of: date) -> str:
    start = as_of - timedelta(days=HISTORY_NIGHTS - 1)
    sizes = [(cid, [(night, size) for night, size, _, _ in nights])
             for cid, nights in sorted(history.items())]
    multiples = "".join(
        f"<figure><figcaption>{html.escape(cid)}</figcaption>"
        + entered_left_chart(f"{cid}: borrowers entered and left per night",
                             [(night, entered, left) for night, _, entered, left in nights],
                             start, as_of)
        + "</figure>" for cid, nights in sorted(history.items()))
    table = _table(["campaign", "audience tonight", "entered", "left", "eligible to date"],
                   [[r["campaign_id"], r["audience_size"], r["audience_entered"],
                     r["audience_left"], r["borrowers_eligible_to_date"]] for r in rows])
    return (f"<h2>Audiences, last {HISTORY_NIGHTS} nights</h2>"
            + line_chart(f"Audience size per campaign, last {HISTORY_NIGHTS} nights", sizes,
                         start, as_of)
            + table
            + "<h3>Entered (up) and left (down) since the night before</h3>"
            + f'<div class="small-multiples">{multiples}</div>')


def _funnel(rows: list[dict]) -> str:
    stages = ("eligible", "enrolled", "sent", "converted")
    groups = [(r["campaign_id"], list(zip(stages, (
        r["borrowers_eligible_to_date"], r["borrowers_enrolled_to_date"],
        r["borrowers_sent_to_date"], r["borrowers_converted_to_date"]), strict=True)))
        for r in rows]
    return ("<h2>Funnel to date (borrowers)</h2>"
            '<p class="note">Eligible: ever in the audience. Enrolled: treated enrollments '
            "(control borrowers are counted under treated vs control). Sent: at least one "
            "message sent. Converted: a conversion credited by last touch.</p>"
            + bar_groups("Funnel per campaign: eligible, enrolled, sent, converted", groups,
                         per_group_scale=True)
            + _table(["campaign", *stages],
                     [[cid, *(v for _, v in items)] for cid, items in groups]))


def _reasons(plan: NightPlan) -> str:
    not_sent = Counter((c.campaign.id, c.decision, c.reason or "") for c in plan.considered
                       if c.decision != "send")
    by_rule = Counter()
    for (_, decision, reason), n in not_sent.items():
        by_rule[(decision, reason)] += n
    chart_groups = [(decision, [(reason, n) for (d, reason), n in sorted(by_rule.items())
                                if d == decision])
                    for decision in DECISIONS if decision != "send"
                    and any(d == decision for d, _ in by_rule)]
    return ("<h2>Why messages were not sent tonight</h2>"
            + bar_groups("Messages not sent tonight, by decision and rule", chart_groups)
            + _table(["campaign", "decision", "rule", "messages"],
                     [[*k, n] for k, n in sorted(not_sent.items())]))


def _treated_vs_control(rows: list[dict], s: MetricsSettings) -> str:
    body = [[r["campaign_id"], r["borrowers_sent_to_date"], r["borrowers_converted_to_date"],
             _pct(r["conversion_rate"]), r["control_borrowers"], r["control_converted"],
             _pct(r["control_rate"]),
             "–" if r["lift"] is None else f"{r['lift'] * 100:+.1f} pp",
             "–" if r["lift"] is None else
             f"{r['lift_low'] * 100:+.1f} to {r['lift_high'] * 100:+.1f} pp"] for r in rows]
    chart = interval_chart("Lift (treated minus control conversion rate) with 95 % interval",
                           [(r["campaign_id"], r["lift"], r["lift_low"], r["lift_high"])
                            for r in rows])
    return ("<h2>Treated vs control</h2>"
            '<p class="note">Treated: borrowers sent, converted when a conversion is credited '
            "to the campaign by last touch. Control: borrowers held out at enrollment, "
            f"converted within {s.control_window_days} days of it. Lift with a 95 % Newcombe "
            "(Wilson) interval.</p>"
            + chart
            + _table(["campaign", "sent", "converted", "rate", "control", "converted",
                      "control rate", "lift", "95 % interval"], body))


def _fair_lending(rows: list[dict], plan: NightPlan, campaigns: dict[str, Campaign]) -> str:
    params = reach_params()
    body = []
    for r in rows:
        n1, x1 = r["reach_minority_eligible"], r["reach_minority_reached"]
        n2, x2 = r["reach_other_eligible"], r["reach_other_reached"]
        air, z = r["reach_air"], r["reach_z"]
        if (judged := plan.reach_held.get(r["campaign_id"])) is not None:
            # nothing of a held batch was sent: show the batch the hold was decided on
            n1, x1, n2, x2 = (judged.minority_eligible, judged.minority_reached,
                              judged.other_eligible, judged.other_reached)
            air, z = judged.air, judged.z
            status = _held_cell("HELD")
        elif plan.holds.get(r["campaign_id"]) == "fair_lending.reach":
            status = _held_cell("HELD")
        elif r["reach_flagged"]:
            reviewed = getattr(campaigns.get(r["campaign_id"]), "fair_lending_review", None)
            status = _held_cell("below the bar" + (" (review on record)" if reviewed else ""))
        elif min(n1, n2) < params["min_each_side"]:
            status = f"too few to judge (< {params['min_each_side']} a side)"
        else:
            status = "ok"
        body.append([r["campaign_id"], n1, x1, _pct(x1 / n1 if n1 else None), n2, x2,
                     _pct(x2 / n2 if n2 else None),
                     "–" if air is None else f"{air:.2f}",
                     "–" if z is None else f"{z:+.2f}", status])
    return ("<h2>Fair-lending reach</h2>"
            f'<p class="note">Borrowers, not messages, over the trailing '
            f"{params['trailing_nights']} nights: eligible borrowers with a known census "
            f"tract, and those sent at least one message. Majority-minority: minority share "
            f"≥ {params['majority_minority_pct']} %. Held when each side has at least "
            f"{params['min_each_side']} borrowers and AIR &lt; {params['min_air']:.2f} or "
            f"z &lt; {params['min_z']:.0f}. A held campaign sent nothing tonight: its row "
            "counts tonight's batch as it would have been sent, the figures it was held on."
            "</p>"
            + _table(["campaign", "minority eligible", "reached", "rate", "other eligible",
                      "reached", "rate", "AIR", "z", "status"], body))


def _engagement(rows: list[dict]) -> str:
    body = [[r["campaign_id"], r["opens"], r["clicks"], r["replies"], r["opt_outs"],
             r["conversions"], r["revenue"], r["conversions_to_date"], r["revenue_to_date"],
             _pct(r["conversion_rate"]), _pct(r["opt_out_rate"]),
             r["revenue_per_conversion"]] for r in rows]
    return ("<h2>Engagement and conversions</h2>"
            '<p class="note">Events and conversions dated tonight, then to date. Rates are '
            "per borrower sent, to date.</p>"
            + _table(["campaign", "opens", "clicks", "replies", "opt-outs", "conversions",
                      "revenue", "conversions to date", "revenue to date", "conversion rate",
                      "opt-out rate", "revenue per conversion"], body))


def _portfolio(rows: list[dict], s: MetricsSettings) -> str:
    if not rows or rows[0].get("recapture_payoffs") is None:
        return "<h2>Portfolio</h2><p>No loan book to measure.</p>"
    r = rows[0]
    recapture = (f"{r['recapture_recaptured']:,} of {r['recapture_payoffs']:,} loans paid off "
                 f"in the last {s.recapture_period_days} days were refinanced with the lender "
                 f"within {s.recapture_window_days} days")
    ancillary = (f"{_cell(r['ancillary_revenue'])} over the last {s.revenue_period_days} days "
                 f"(every product but refinance) ÷ {r['portfolio_borrowers']:,} borrowers "
                 "holding a funded loan")
    retention = (f"{r['retention_retained']:,} of {r['retention_cohort']:,} borrowers whose "
                 f"first loan closed {s.retention_min_months}–{s.retention_max_months} months "
                 "ago still hold a loan or have converted since")
    body = [["refinance recapture rate", _pct(r["refinance_recapture_rate"]), recapture],
            ["ancillary revenue per borrower", _cell(r["ancillary_revenue_per_borrower"]),
             ancillary],
            ["3-year retention", _pct(r["retention_3yr_rate"]), retention]]
    return "<h2>Portfolio</h2>" + _table(["figure", "value", "from"], body)


def _enrollments_and_calls(plan: NightPlan) -> str:
    enrolled = Counter((e.campaign_id, e.control) for e in plan.new_enrollments)
    ids = sorted({c for c, _ in enrolled})
    body = [[c, enrolled.get((c, False), 0), enrolled.get((c, True), 0)] for c in ids]
    calls = Counter(a.decision for a in plan.lo_alerts)
    return ("<h2>Enrolled tonight</h2>"
            + (_table(["campaign", "treated", "control"], body) if body
               else "<p>No new enrollments.</p>")
            + "<h2>Loan-officer call list</h2>"
            + f"<p>{calls.get('send', 0):,} borrowers on tomorrow's list"
            + (f"; {sum(n for d, n in calls.items() if d != 'send'):,} left off by the gate"
               if len(calls) > (1 if "send" in calls else 0) else "")
            + ".</p>")


PREVIEW_NOTICE = ('<p id="preview" class="holds"><strong>PREVIEW (dry run)</strong>: what this '
                  "night would do. Nothing was sent, enrolled or recorded.</p>")


def render_report(plan: NightPlan, con: duckdb.DuckDBPyConnection,
                  rows: list[dict] | None = None, preview: bool = False) -> str:
    """The report's HTML for the night of `plan`; a dry run's `preview` says so on top.
    `rows`: the night's campaign_metrics_rows when already computed from the stored plan
    (they equal those computed from the plan)."""
    campaigns, settings = _campaigns(plan), MetricsSettings.load()
    if rows is None:
        rows = campaign_metrics_rows(con, plan.as_of, campaigns, settings,
                                     Tonight.from_plan(plan))
    history = audience_history(con, plan.as_of, [r["campaign_id"] for r in rows],
                               HISTORY_NIGHTS)
    title = f"xsell night {plan.as_of.isoformat()}" + (" PREVIEW" if preview else "")
    sections = [
        *([PREVIEW_NOTICE] if preview else []),
        _holds(plan), _decisions(rows), _audiences(rows, history, plan.as_of), _funnel(rows),
        _reasons(plan), _treated_vs_control(rows, settings), _fair_lending(rows, plan, campaigns),
        _engagement(rows), _portfolio(rows, settings), _enrollments_and_calls(plan), FOOTNOTE,
    ]
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title><style>{STYLE}</style></head>\n<body><h1>{title}</h1>\n"
            + "\n".join(sections) + "\n</body></html>\n")


def write_report(path: Path, plan: NightPlan, con: duckdb.DuckDBPyConnection,
                 rows: list[dict] | None = None, preview: bool = False) -> None:
    """Write the night's report to `path` (ids and counts only)."""
    # Private like the send files beside it: one file in an 0700 folder, written whole.
    write_atomic(path, render_report(plan, con, rows, preview).encode("utf-8"))
