"""Milestone history (loan_events): application through each loan's current status."""

from __future__ import annotations

import numpy as np
import polars as pl

from .dates import at_seconds, timestamp_series
from .schema import LOAN_STATUSES, conform

# Slots in lifecycle order; a loan's path is the subset its status implies.
SLOT = {status: position for position, status in enumerate(LOAN_STATUSES)}


def milestone_path(
    rng: np.random.Generator,
    status: np.ndarray,
    purchase: np.ndarray,
    application: np.ndarray,
    status_date: np.ndarray,
    close: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Which milestones each loan passed (n x 8 bool) and on which day (n x 8 datetime64[D])."""
    n = len(status)
    reached = {s: np.isin(status, later) for s, later in _REACHED_BY.items()}
    fell_through = np.isin(status, ("withdrawn", "denied"))
    has = np.zeros((n, len(LOAN_STATUSES)), dtype=bool)
    has[:, SLOT["application"]] = True
    # Pre-approval is a purchase step; refinances go straight to processing.
    has[:, SLOT["pre_approved"]] = (status == "pre_approved") | (
        purchase & (reached["pre_approved"] | (fell_through & (rng.random(n) < 0.5)))
    )
    has[:, SLOT["processing"]] = reached["processing"] | (fell_through & (rng.random(n) < 0.5))
    has[:, SLOT["clear_to_close"]] = reached["clear_to_close"]
    has[:, SLOT["funded"]] = reached["funded"]
    for final in ("paid_off", "withdrawn", "denied"):
        has[:, SLOT[final]] = status == final

    # The steps before closing land at increasing fractions of the way to it.
    funded = reached["funded"]
    end = np.where(funded, close, status_date)
    span = (end - application).astype(np.int64)
    fractions = np.sort(rng.uniform(0.05, 0.95, (n, 3)), axis=1)
    days = np.empty((n, len(LOAN_STATUSES)), dtype="datetime64[D]")
    days[:, SLOT["application"]] = application
    for column, slot in enumerate(("pre_approved", "processing", "clear_to_close")):
        days[:, SLOT[slot]] = application + np.floor(fractions[:, column] * span).astype(np.int64)
    days[:, SLOT["funded"]] = close
    for final in ("paid_off", "withdrawn", "denied"):
        days[:, SLOT[final]] = status_date
    # A loan's current status was reached on its status_date, exactly.
    for slot in ("pre_approved", "processing", "clear_to_close"):
        days[status == slot, SLOT[slot]] = status_date[status == slot]
    return has, days


_REACHED_BY = {
    "pre_approved": ("pre_approved", "processing", "clear_to_close", "funded", "paid_off"),
    "processing": ("processing", "clear_to_close", "funded", "paid_off"),
    "clear_to_close": ("clear_to_close", "funded", "paid_off"),
    "funded": ("funded", "paid_off"),
}


def loan_events_frame(
    rng: np.random.Generator, loan_ids: pl.Series, has: np.ndarray, days: np.ndarray
) -> pl.DataFrame:
    loan_index, slot = np.nonzero(has)  # row-major: each loan's milestones in order
    # One hour per slot, 14:00Z to 21:59Z, keeps same-day milestones in order.
    seconds = 14 * 3600 + slot * 3600 + rng.integers(0, 3600, len(slot))
    frame = pl.DataFrame(
        {
            "loan_id": loan_ids.gather(pl.Series(loan_index)),
            "milestone": pl.Series(LOAN_STATUSES).gather(pl.Series(slot)),
            "occurred_at": timestamp_series(
                "occurred_at", at_seconds(days[loan_index, slot], seconds)
            ),
        }
    )
    return conform("loan_events", frame)
