"""Load the real loan history a backtest replays: the loans as known at each month end, the
market rates and house price indexes with the day each became known, and the payoffs.

Point in time, per month end d:
- loans: `fannie_loans(..., d)` and `enrich_loans`, the same mapping the real-data landing
  zone uses: the balance and delinquency of the latest performance row known at d (a
  month's row is known once the month has ended), amortized while Fannie masks the
  balance; the CBSA from Fannie's MSA, else from the 3-digit ZIP where it is unambiguous;
- in the book at d: closed by d, and no zero-balance row known at d (any code: a loan
  repurchased or sold leaves the data as a payoff does);
- rates: PMMS weekly, known on its survey date (published_on = rate_date);
- HPI: FHFA all-transactions, a quarter known at month end two months after it ends.
Only loans with performance rows are replayed: a loan with none has no balance history and
no outcome to score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path

import polars as pl

from pipelines.lib.realdata import (
    enrich_loans,
    fannie_loans,
    pmms_market_rates,
    read_acquisition,
    read_county_cbsa,
    read_fred_series,
    read_pmms_history,
    read_servicing_history,
    read_zip_county,
    real_hpi,
)

FANNIE_DIR = "fannie_mae_sflp_2000Q1_subset"
PMMS_DIR = "pmms_freddiemac"
PAYOFF_CODE = "01"  # prepaid or matured; other codes are credit events or repurchases


@dataclass(frozen=True)
class History:
    """What the replay reads, every value with the day it became known."""

    snapshots: pl.DataFrame  # as_of_date + the INPUTS.md loans columns + in_book
    market_rates: pl.DataFrame  # rate_date, product, rate, published_on
    hpi: pl.DataFrame  # geo_level, geo_code, period_start, index_value, published_on
    payoffs: pl.DataFrame  # loan_id, payoff_month (zero_balance_code 01)
    performance_files: list[Path]


def month_ends(first: Date, last: Date) -> list[Date]:
    """The last day of every month from first's month to last's month."""
    months = pl.date_range(first.replace(day=1), last.replace(day=1), "1mo", eager=True)
    return months.dt.month_end().to_list()


def _files(folder: Path, pattern: str) -> list[Path]:
    found = sorted(folder.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} in {folder}")
    return found


def _need(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"real data file missing: {path}")
    return path


def load_history(realdata_dir: Path, nights: list[Date]) -> History:
    """Read the real files under realdata_dir and lay out the loans as known on each night."""
    realdata_dir = Path(realdata_dir)
    fannie = realdata_dir / FANNIE_DIR
    performance_files = _files(fannie, "Performance_*.txt")
    servicing = read_servicing_history(performance_files)
    acquisition = pl.concat([read_acquisition(p) for p in _files(fannie, "Acquisition_*.txt")])
    replayed = acquisition.join(servicing.select("loan_id").unique(), on="loan_id", how="semi")
    if replayed.height == 0:
        raise ValueError(f"no loan in {performance_files} is in the acquisition files")
    ended = servicing.filter(pl.col("zero_balance_code").is_not_null()).select(
        "loan_id", known_ended_on=pl.col("reporting_month").dt.month_end()
    )
    zip3 = acquisition.select("loan_id", property_zip3="zip3")
    snapshots = pl.concat(
        [
            fannie_loans(replayed, servicing, night)
            .join(zip3, on="loan_id", how="left")
            .join(ended, on="loan_id", how="left")
            .with_columns(
                as_of_date=pl.lit(night, pl.Date),
                in_book=pl.col("known_ended_on").is_null()
                | (pl.col("known_ended_on") > pl.lit(night, pl.Date)),
            )
            .drop("known_ended_on")
            for night in nights
        ]
    )
    crosswalks = realdata_dir / "crosswalks"
    snapshots = enrich_loans(
        snapshots,
        read_zip_county(_need(crosswalks / "hud_zip_county_122020.csv")),
        read_county_cbsa(_need(crosswalks / "cbsa2fipsxw.csv")),
    )
    pmms = realdata_dir / PMMS_DIR
    rates = pmms_market_rates(
        read_pmms_history(_need(pmms / "PMMS_history.csv")),
        [read_fred_series(p) for p in sorted(pmms.glob("MORTGAGE*US.csv"))],
    ).select("rate_date", "product", "rate", "published_on")
    payoffs = servicing.filter(pl.col("zero_balance_code") == PAYOFF_CODE).select(
        "loan_id", payoff_month="zero_balance_date"
    )
    return History(snapshots, rates, real_hpi(realdata_dir), payoffs, performance_files)
