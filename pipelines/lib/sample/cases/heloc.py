"""Planted HELOC cases: 24 to 36 months since close, primary, 50,000 of available equity."""

from __future__ import annotations

from datetime import timedelta

from ..market import RateHistory
from ..scenarios import Scenarios, days_before, months_before, note_rate_at


def plant(s: Scenarios, rates: RateHistory) -> None:
    d = s.as_of

    # Trigger: 24 <= months_since_close <= 36, primary, available_equity >= 50,000. A 70 %
    # LTV at closing leaves well over 50,000 of equity at the 85 % cap.
    def heloc(case, why, close, market="los_angeles", amount=560_000, value=800_000, **fields):
        s.funded(
            case,
            why,
            close=close,
            note_rate=note_rate_at(rates, close),
            amount=amount,
            value=value,
            market=market,
            **fields,
        )

    day_after = timedelta(days=1)
    heloc("heloc-24m-edge", "in: closed D-24 months, months_since_close 24", months_before(d, 24))
    heloc(
        "heloc-23m-edge",
        "out: closed D-24 months + 1 day, months_since_close 23",
        months_before(d, 24) + day_after,
    )
    heloc(
        "heloc-36m-edge",
        "in: closed D-36 months, months_since_close 36",
        months_before(d, 36),
        market="seattle",
    )
    heloc(
        "heloc-36m-last-day",
        "in: closed D-37 months + 1 day, still 36",
        months_before(d, 37) + day_after,
        market="dallas",
        amount=350_000,
        value=500_000,
    )
    heloc("heloc-37m-edge", "out: closed D-37 months, months_since_close 37", months_before(d, 37))
    heloc(
        "heloc-30m-converted-365d-ago",
        "in: heloc conversion D-365 is outside (D-365, D]",
        months_before(d, 30),
        market="denver",
    )
    s.converted("B-heloc-30m-converted-365d-ago", "heloc", days_before(d, 365), 1_200.00)
    heloc(
        "heloc-30m-converted-364d-ago",
        "out: heloc conversion D-364",
        months_before(d, 30),
        market="miami",
    )
    s.converted("B-heloc-30m-converted-364d-ago", "heloc", days_before(d, 364), 950.00)
    heloc(
        "heloc-28m-delinquent",
        "out: 30 days delinquent",
        months_before(d, 28),
        servicing_status="delinquent_30",
    )
    heloc(
        "heloc-28m-second-home",
        "out: a second home, not primary",
        months_before(d, 28),
        occupancy="second_home",
        market="tampa",
    )
    heloc(
        "heloc-33m-engaged",
        "in: engagement_score over 15, so on the LO call list",
        months_before(d, 33),
        market="san_diego",
    )
    s.engaged("B-heloc-33m-engaged")
    heloc(
        "heloc-27m-vermont",
        "in: VT has no state or CBSA index, value_method national",
        months_before(d, 27),
        market="burlington",
        amount=420_000,
        value=600_000,
    )
