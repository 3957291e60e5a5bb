"""House price index series at CBSA, state and national level, with FHFA-like gaps and lags."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .dates import date_series
from .geography import MARKETS, STATES
from .schema import conform

# (years before as_of, annual appreciation): the boom of the low-rate years, a dip when
# rates peaked, then single digits.
APPRECIATION_PATH = (
    (8.0, 0.05),
    (6.0, 0.06),
    (5.3, 0.10),
    (5.0, 0.17),
    (4.0, 0.12),
    (3.6, -0.03),
    (3.1, 0.05),
    (2.0, 0.045),
    (1.0, 0.03),
    (0.0, 0.03),
)
HISTORY_YEARS = 8

# Deliberate holes so that value_method takes every value downstream:
STATES_WITHOUT_SERIES = ("VT",)  # VT loans fall back to the national index
STATE_SERIES_STARTS_MONTHS_BEFORE = {"AZ": 36}  # older Tucson loans have no state HPI at close
STATE_MONTHS_MISSING_MID = {"NY": (40, 41, 42)}  # months counted from the series start
STATE_LATEST_MONTHS_MISSING = {"RI": 3}  # a state feed that stopped updating


@dataclass(frozen=True)
class HpiHistory:
    months: np.ndarray  # first day of each month, datetime64[D], ascending to as_of's month
    national: np.ndarray  # national index per month
    frame: pl.DataFrame

    def national_ratio(self, days: np.ndarray) -> np.ndarray:
        """National index in each day's month relative to the latest month."""
        position = (
            np.searchsorted(self.months, np.asarray(days, dtype="datetime64[D]"), "right") - 1
        )
        return self.national[np.clip(position, 0, None)] / self.national[-1]


def _published_on(period_end_month: np.ndarray) -> np.ndarray:
    # FHFA releases a period about two months after it ends; the 25th stands in for the day.
    return (period_end_month.astype("datetime64[M]") + 2).astype("datetime64[D]") + 24


def _series_frame(level: str, code: str, starts: np.ndarray, values: np.ndarray, span: int):
    published = _published_on(starts.astype("datetime64[M]") + (span - 1))
    return pl.DataFrame(
        {
            "geo_level": [level] * len(starts),
            "geo_code": [code] * len(starts),
            "period_start": date_series("period_start", starts),
            "index_value": np.round(values, 2),
            "published_on": date_series("published_on", published),
        }
    )


def build_hpi(rng: np.random.Generator, as_of: np.datetime64) -> HpiHistory:
    last_month = as_of.astype("datetime64[M]")
    months_m = np.arange(last_month - HISTORY_YEARS * 12, last_month + 1)
    months = months_m.astype("datetime64[D]")
    years_before = (as_of - months).astype(np.int64) / 365.25
    anchors_years, anchors_growth = zip(*reversed(APPRECIATION_PATH))
    annual = np.interp(years_before, anchors_years, anchors_growth)
    national_log = np.concatenate([[0.0], np.cumsum(np.log1p(annual[1:]) / 12)])
    national = 300.0 * np.exp(national_log)
    known_monthly = _published_on(months_m) <= as_of

    def regional(base_low: float, base_high: float) -> np.ndarray:
        beta = rng.uniform(0.7, 1.35)
        drift = np.cumsum(rng.normal(0.0, 0.003, len(months)))
        return rng.uniform(base_low, base_high) * np.exp(beta * national_log + drift)

    frames = [_series_frame("national", "US", months[known_monthly], national[known_monthly], 1)]
    for state in STATES:
        path = regional(180.0, 460.0)  # drawn for every state so each series is seed-stable
        if state in STATES_WITHOUT_SERIES:
            continue
        keep = known_monthly.copy()
        if state in STATE_SERIES_STARTS_MONTHS_BEFORE:
            keep &= months_m >= last_month - STATE_SERIES_STARTS_MONTHS_BEFORE[state]
        for missing in STATE_MONTHS_MISSING_MID.get(state, ()):
            keep[missing] = False
        if state in STATE_LATEST_MONTHS_MISSING:
            keep[np.flatnonzero(keep)[-STATE_LATEST_MONTHS_MISSING[state] :]] = False
        frames.append(_series_frame("state", state, months[keep], path[keep], 1))

    quarter_first = (months_m.astype(np.int64) % 3) == 0  # Jan, Apr, Jul, Oct
    quarter_starts = np.flatnonzero(quarter_first)
    quarter_starts = quarter_starts[quarter_starts + 2 < len(months)]
    quarter_known = _published_on(months_m[quarter_starts] + 2) <= as_of
    for market in MARKETS:
        path = regional(150.0, 520.0)
        if not market.cbsa_hpi:
            continue
        # A quarterly value is the mean of its three months.
        quarterly = (path[quarter_starts] + path[quarter_starts + 1] + path[quarter_starts + 2]) / 3
        starts = quarter_starts[quarter_known]
        frames.append(
            _series_frame("cbsa", market.cbsa, months[starts], quarterly[quarter_known], 3)
        )

    frame = conform("hpi", pl.concat(frames))
    return HpiHistory(months, national, frame)
