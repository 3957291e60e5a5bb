"""Planted post-close welcome cases: a funded loan whose close_date is in (D-7, D]."""

from __future__ import annotations

from ..market import RateHistory
from ..scenarios import Scenarios, days_before, note_rate_at


def plant(s: Scenarios, rates: RateHistory) -> None:
    d = s.as_of

    # Trigger: funded with close_date in (D-7, D].
    def welcome(case, why, days_back, **fields):
        close = days_before(d, days_back)
        fields.setdefault("amount", 480_000)
        fields.setdefault("value", 600_000)
        s.funded(case, why, close=close, note_rate=note_rate_at(rates, close), **fields)

    welcome(
        "welcome-close-today", "in: closed on D", 0, market="boston", amount=610_000, value=780_000
    )
    welcome(
        "welcome-1d-no-officer",
        "in: no loan officer, messages name the company line",
        1,
        market="atlanta",
        loan_officer_id=None,
    )
    welcome(
        "welcome-2d-second-home",
        "in: any occupancy qualifies",
        2,
        market="miami",
        occupancy="second_home",
    )
    welcome(
        "welcome-3d-cash-out-refi",
        "in: any purpose qualifies",
        3,
        market="chicago",
        loan_purpose="cash_out_refi",
    )
    welcome(
        "welcome-4d-insured",
        "in: converted on insurance D-30, so the day-14 step is skipped",
        4,
        market="charlotte",
    )
    s.converted("B-welcome-4d-insured", "insurance", days_before(d, 30), 420.00)
    welcome("welcome-5d-rhode-island", "in: closed D-5", 5, market="providence")
    welcome("welcome-6d-edge", "in: closed D-6", 6, market="houston")
    welcome("welcome-7d-edge", "out: closed D-7", 7, market="tampa")
