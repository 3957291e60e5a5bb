"""`xsell backtest`: replay a campaign's rules on the real loan history and report the scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.lib.campaigns import load_campaigns

from .history import load_history, month_ends
from .replay import Signal, loan_nights, score, signals


def parse_month(text: str) -> date:
    """`YYYY-MM` -> the first of that month."""
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a month like 2001-06 (YYYY-MM)") from None


@dataclass(frozen=True)
class Backtest:
    scores: pl.DataFrame
    loan_nights: pl.DataFrame
    signals: list[Signal]
    meta: dict


def run_backtest(realdata_dir: Path, campaign_id: str, first: date, last: date) -> Backtest:
    """Scores per month end from first's month to last's month, for the campaign's signals."""
    if last < first:
        raise ValueError(f"--to {last:%Y-%m} is before --from {first:%Y-%m}")
    chosen = signals(load_campaigns(), campaign_id)
    history = load_history(realdata_dir, month_ends(first, last))
    nights = loan_nights(history, chosen)
    meta = {
        "campaign": campaign_id,
        "from": f"{first:%Y-%m}",
        "to": f"{last:%Y-%m}",
        "input": str(realdata_dir),
        "performance_files": [str(p) for p in history.performance_files],
        "loans_replayed": history.snapshots["loan_id"].n_unique(),
    }
    return Backtest(score(nights, chosen), nights, chosen, meta)
