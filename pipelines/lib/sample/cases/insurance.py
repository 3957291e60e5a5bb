"""Planted insurance cases: a purchase's clear_to_close milestone in (D-7, D], UTC date."""

from __future__ import annotations

from ..market import RateHistory
from ..scenarios import Scenarios, at, days_before


def plant(s: Scenarios, rates: RateHistory) -> None:
    d = s.as_of
    # Trigger: a purchase whose clear_to_close milestone falls in (D-7, D], UTC date.
    s.clear_to_close(
        "ins-ctc-today",
        "in: clear_to_close at D 23:59:59Z, the last second of the window",
        ctc_at=at(d, 23, 59, 59),
    )
    s.clear_to_close(
        "ins-ctc-1d",
        "in; email opt_in and opt_out at one instant, so opt_out wins",
        ctc_at=at(days_before(d, 1), 15),
        market="seattle",
    )
    s.prefer("B-ins-ctc-1d", "email", "opt_in", at(days_before(d, 20), 12), "web_form")
    s.prefer("B-ins-ctc-1d", "email", "opt_out", at(days_before(d, 20), 12), "email_link")
    s.clear_to_close(
        "ins-ctc-3d-no-events",
        "in: no loan_events, so status_date D-3 stands in",
        ctc_at=None,
        status_date=days_before(d, 3),
        market="dallas",
    )
    s.clear_to_close(
        "ins-ctc-5d-rhode-island",
        "in: a borrower under RI's narrow calling hours",
        ctc_at=at(days_before(d, 5), 16),
        market="providence",
    )
    s.clear_to_close(
        "ins-ctc-6d-edge",
        "in: clear_to_close at D-6 00:00:00Z, the first second",
        ctc_at=at(days_before(d, 6), 0),
        market="miami",
    )
    s.clear_to_close(
        "ins-ctc-7d-edge",
        "out: clear_to_close at D-7 23:59:59Z, one second early",
        ctc_at=at(days_before(d, 7), 23, 59, 59),
        market="phoenix",
    )
    s.funded(
        "ins-funded-2d-after-ctc",
        "in: clear_to_close D-5 then funded D-2 (also welcome)",
        close=days_before(d, 2),
        ctc_at=at(days_before(d, 5), 14),
        amount=400_000,
        value=500_000,
        note_rate=6.5,
        market="denver",
    )
    s.clear_to_close(
        "ins-refi-ctc-2d",
        "out: a refinance, not a purchase",
        ctc_at=at(days_before(d, 2), 16),
        loan_purpose="rate_term_refi",
        market="houston",
    )
    s.clear_to_close(
        "ins-withdrawn-after-ctc",
        "out: withdrawn D-1 after clear_to_close D-4",
        ctc_at=at(days_before(d, 4), 16),
        status="withdrawn",
        status_date=days_before(d, 1),
        extra=[("withdrawn", at(days_before(d, 1), 17))],
        market="new_york",
    )
    s.clear_to_close(
        "ins-converted-today",
        "out: converted on insurance on D itself",
        ctc_at=at(days_before(d, 2), 15),
        market="san_diego",
    )
    s.converted("B-ins-converted-today", "insurance", d, 350.00)
