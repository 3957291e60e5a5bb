"""Planted financial-planning cases: 60 to 90 days since close, large or investor."""

from __future__ import annotations

from ..market import RateHistory
from ..scenarios import Scenarios, days_before, note_rate_at


def plant(s: Scenarios, rates: RateHistory) -> None:
    d = s.as_of

    # Trigger: 60 <= days_since_close <= 90 and (amount > 500,000 or investor or investment).
    def planning(case, why, days_back, amount, value, **fields):
        close = days_before(d, days_back)
        s.funded(
            case,
            why,
            close=close,
            amount=amount,
            value=value,
            note_rate=note_rate_at(rates, close),
            **fields,
        )

    planning("fp-60d-edge", "in: closed D-60, amount 750,000", 60, 750_000, 1_000_000)
    s.engaged("B-fp-60d-edge")
    planning("fp-59d-edge", "out: closed D-59", 59, 800_000, 1_050_000, market="new_york")
    planning(
        "fp-90d-edge",
        "in: closed D-90, an investor borrower",
        90,
        320_000,
        420_000,
        market="houston",
        borrower_fields={"is_investor": True},
    )
    planning("fp-91d-edge", "out: closed D-91", 91, 800_000, 1_050_000, market="seattle")
    planning(
        "fp-75d-investment-occupancy",
        "in: investment occupancy",
        75,
        280_000,
        400_000,
        market="phoenix",
        occupancy="investment",
    )
    planning(
        "fp-70d-exactly-500k",
        "out: amount exactly 500,000.00 is not over 500,000",
        70,
        500_000,
        680_000,
        market="boston",
    )
    planning("fp-65d-500k-and-100", "in: amount 500,100", 65, 500_100, 680_000, market="denver")
    planning(
        "fp-80d-california-partner-opt-in",
        "in: CA resident with partner_sharing opt_in",
        80,
        620_000,
        900_000,
        market="san_francisco",
    )
    planning(
        "fp-85d-california-no-partner-consent",
        "in the audience; CA without partner opt_in, so suppressed",
        85,
        640_000,
        900_000,
        market="sacramento",
        partner_sharing=None,
    )
    planning(
        "fp-72d-vermont-partner-opt-out",
        "in the audience; VT partner_sharing opt_out, so suppressed",
        72,
        700_000,
        950_000,
        market="burlington",
        partner_sharing="opt_out",
    )
    planning(
        "fp-68d-converted",
        "out: converted on financial_planning D-200",
        68,
        720_000,
        950_000,
        market="miami",
    )
    s.converted("B-fp-68d-converted", "financial_planning", days_before(d, 200), 900.00)
