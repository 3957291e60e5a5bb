"""Calendar arithmetic on numpy day arrays: month steps, first payments, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

DAY = np.timedelta64(1, "D")
SECONDS_PER_DAY = 86_400


def yesterday_utc() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def add_months(days: np.ndarray | np.datetime64, months: np.ndarray | int) -> np.ndarray:
    """Same day of month `months` later (earlier when negative), clamped to the month's end.

    Clamping keeps the RULES.md month count exact: `add_months(as_of, -n)` is the latest
    close_date with months_since_close == n, and the day after it gives n - 1.
    """
    days = np.asarray(days, dtype="datetime64[D]")
    month = days.astype("datetime64[M]")
    day_of_month = (days - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months).astype("timedelta64[M]")
    days_in_target = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    return target.astype("datetime64[D]") + np.minimum(day_of_month, days_in_target - 1)


def first_payment(close: np.ndarray) -> np.ndarray:
    """Conventional first payment: the first of the month after the month following closing."""
    return (np.asarray(close, dtype="datetime64[D]").astype("datetime64[M]") + 2).astype(
        "datetime64[D]"
    )


def at_seconds(days: np.ndarray, seconds: np.ndarray | int) -> np.ndarray:
    """A UTC instant `seconds` after midnight of each day (NaT days stay NaT)."""
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[s]") + np.asarray(
        seconds
    ).astype("timedelta64[s]")


def date_series(name: str, days: np.ndarray) -> pl.Series:
    return pl.Series(name, np.asarray(days, dtype="datetime64[D]"))


def timestamp_series(name: str, instants: np.ndarray) -> pl.Series:
    """UTC timestamps; written as ISO with `Z` in CSV and as UTC-adjusted in Parquet."""
    series = pl.Series(name, np.asarray(instants).astype("datetime64[us]"))
    return series.dt.replace_time_zone("UTC")


def months_between(start: np.ndarray, end: np.ndarray | np.datetime64) -> np.ndarray:
    """Completed months from start to end, RULES.md's months_since_close formula."""
    start = np.asarray(start, dtype="datetime64[D]")
    end = np.asarray(end, dtype="datetime64[D]")
    start_month = start.astype("datetime64[M]")
    end_month = end.astype("datetime64[M]")
    start_day = (start - start_month.astype("datetime64[D]")).astype(np.int64)
    end_day = (end - end_month.astype("datetime64[D]")).astype(np.int64)
    return (end_month - start_month).astype(np.int64) - (end_day < start_day)
