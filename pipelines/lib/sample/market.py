"""Weekly mortgage-rate survey history (fixed_30, fixed_15) with the rise and fall since 2019."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .dates import DAY, date_series
from .schema import conform

# (years before as_of, 30-year fixed in percent): the PMMS shape of the last eight years,
# a low under 3 %, a peak above 7.5 %, easing to about 6.2 % now. Loans written at the
# peak are the refinance audience, loans written at the low are the HELOC one.
THIRTY_YEAR_PATH = (
    (8.00, 4.55),
    (7.20, 3.75),
    (6.30, 3.30),
    (5.85, 2.80),
    (5.30, 3.05),
    (4.90, 3.55),
    (4.50, 5.20),
    (4.10, 6.90),
    (3.70, 6.30),
    (3.15, 7.60),
    (2.90, 6.70),
    (2.45, 6.90),
    (2.10, 6.20),
    (1.80, 7.00),
    (1.30, 6.80),
    (0.80, 6.55),
    (0.30, 6.30),
    (0.00, 6.20),
)
HISTORY_YEARS = 8  # one year more than the oldest vintage, so every close has a rate in force
PRODUCTS = ("fixed_30", "fixed_15")


@dataclass(frozen=True)
class RateHistory:
    """Survey rates in thousandths of a percent (6170 = 6.170 %), so sums stay exact."""

    dates: np.ndarray  # ascending survey Thursdays, datetime64[D]
    fixed_30: np.ndarray
    fixed_15: np.ndarray
    apr_30: np.ndarray
    apr_15: np.ndarray

    def in_force(self, product: str, days: np.ndarray) -> np.ndarray:
        """The latest observation on or before each day (the history starts before any day)."""
        position = np.searchsorted(self.dates, np.asarray(days, dtype="datetime64[D]"), "right") - 1
        return getattr(self, product)[np.clip(position, 0, None)]

    def latest(self, product: str) -> int:
        return int(getattr(self, product)[-1])


def build_rate_history(rng: np.random.Generator, as_of: np.datetime64) -> RateHistory:
    # PMMS is published on Thursdays; 1970-01-01 was a Thursday.
    last_thursday = as_of - ((as_of - np.datetime64("1970-01-01")).astype(np.int64) % 7) * DAY
    weeks = int(HISTORY_YEARS * 365.25 / 7) + 1
    dates = last_thursday - np.arange(weeks - 1, -1, -1) * 7 * DAY
    years_before = (as_of - dates).astype(np.int64) / 365.25
    anchors_years, anchors_rate = zip(*reversed(THIRTY_YEAR_PATH))
    trend = np.interp(years_before, anchors_years, anchors_rate)
    # Week-to-week wobble that persists a few weeks, as survey rates do.
    shocks = rng.normal(0.0, 0.05, weeks)
    wobble = np.zeros(weeks)
    for week in range(1, weeks):  # 400-odd weeks, not per loan
        wobble[week] = 0.8 * wobble[week - 1] + shocks[week]
    fixed_30 = np.round((trend + wobble) * 100).astype(np.int64) * 10
    term_spread = 0.55 + 0.15 * np.sin(years_before * 1.7) + rng.normal(0.0, 0.03, weeks)
    fixed_15 = fixed_30 - np.round(term_spread * 100).astype(np.int64) * 10
    apr_30 = fixed_30 + rng.integers(100, 201, weeks)
    apr_15 = fixed_15 + rng.integers(100, 201, weeks)
    return RateHistory(dates, fixed_30, fixed_15, apr_30, apr_15)


def market_rates_frame(history: RateHistory) -> pl.DataFrame:
    frames = []
    for product, suffix in (("fixed_30", "30"), ("fixed_15", "15")):
        frames.append(
            pl.DataFrame(
                {
                    "rate_date": date_series("rate_date", history.dates),
                    "product": pl.Series([product] * len(history.dates), dtype=pl.String),
                    "rate": getattr(history, product) / 1000,
                    "apr": getattr(history, f"apr_{suffix}") / 1000,
                    # A survey's value is known the day it is published.
                    "published_on": date_series("published_on", history.dates),
                }
            )
        )
    return conform("market_rates", pl.concat(frames).sort("rate_date", "product"))
