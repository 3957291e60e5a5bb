"""Planted investment-property cases: 12 to 24 months, LTV or income, credit 700."""

from __future__ import annotations

from datetime import timedelta

from ..market import RateHistory
from ..scenarios import Scenarios, days_before, months_before, note_rate_at


def plant(s: Scenarios, rates: RateHistory) -> None:
    d = s.as_of

    # Trigger: 12 <= months <= 24, primary, (current_ltv <= 0.70 or income >= 150,000),
    # credit_score >= 700. A 60 % LTV passes on LTV; income is kept under 150,000 then.
    def invest(case, why, close, amount=360_000, value=600_000, income=120_000, **fields):
        s.funded(
            case,
            why,
            close=close,
            amount=amount,
            value=value,
            note_rate=note_rate_at(rates, close),
            borrower_fields={"annual_income": income},
            **fields,
        )

    day_after = timedelta(days=1)
    invest("invest-12m-edge", "in: closed D-12 months, months_since_close 12", months_before(d, 12))
    invest(
        "invest-11m-edge", "out: closed D-12 months + 1 day, 11", months_before(d, 12) + day_after
    )
    invest(
        "invest-24m-edge",
        "in: closed D-24 months, 24",
        months_before(d, 24),
        amount=330_000,
        value=550_000,
        market="atlanta",
    )
    invest("invest-25m-edge", "out: closed D-25 months, 25", months_before(d, 25), market="chicago")
    invest(
        "invest-income-150k-edge",
        "in: LTV 90 % but income exactly 150,000.00",
        months_before(d, 18),
        amount=450_000,
        value=500_000,
        income=150_000.00,
        credit_score=720,
        market="charlotte",
    )
    invest(
        "invest-income-149999",
        "out: LTV 90 % and income 149,999.99",
        months_before(d, 18),
        amount=450_000,
        value=500_000,
        income=149_999.99,
        credit_score=720,
        market="charlotte",
    )
    invest(
        "invest-credit-700-edge",
        "in: credit_score exactly 700",
        months_before(d, 15),
        credit_score=700,
    )
    invest("invest-credit-699", "out: credit_score 699", months_before(d, 15), credit_score=699)
    invest(
        "invest-credit-unknown",
        "out: credit_score null fails",
        months_before(d, 15),
        credit_score=None,
    )
    invest(
        "invest-20m-converted-yesterday",
        "out: converted on investment_property D-1",
        months_before(d, 20),
    )
    s.converted(
        "B-invest-20m-converted-yesterday", "investment_property", days_before(d, 1), 6_500.00
    )
    invest(
        "invest-16m-texas",
        "in: LTV 55 %, credit 800",
        months_before(d, 16),
        amount=220_000,
        value=400_000,
        credit_score=800,
        market="dallas",
    )
    invest(
        "invest-21m-rhode-island",
        "in: LTV 65 %",
        months_before(d, 21),
        amount=286_000,
        value=440_000,
        credit_score=740,
        market="providence",
    )
