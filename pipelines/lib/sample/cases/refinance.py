"""Planted refinance cases: the spread, balance, seasoning and tie-break edges."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from ..dates import add_months, first_payment
from ..market import RateHistory
from ..scenarios import Scenarios, at, days_before, months_before


def plant(s: Scenarios, rates: RateHistory) -> None:
    d = s.as_of
    # Trigger: spread >= 75 bps over the latest survey rate (>= 50 when current_upb >= 400,000),
    # 6+ months since close, savings >= 100 a month, breakeven <= 36 months. A stated
    # current_upb well under the original amount makes savings large and exact.
    m30, m15 = rates.latest("fixed_30"), rates.latest("fixed_15")

    def refi(
        case,
        why,
        months,
        bps,
        *,
        close=None,
        upb=None,
        amount=400_000,
        value=560_000,
        over=None,
        **fields,
    ):
        s.funded(
            case,
            why,
            close=close or months_before(d, months),
            amount=amount,
            value=value,
            note_rate=((over or m30) + 10 * bps) / 1000,
            current_upb=upb,
            **fields,
        )

    refi(
        "refi-75bps-edge", "in: spread exactly 75 bps, current_upb 300,000", 40, 75, upb=300_000.00
    )
    s.engaged("B-refi-75bps-edge")
    refi("refi-74bps", "out: spread 74 bps", 40, 74, upb=300_000.00, market="san_diego")
    refi(
        "refi-50bps-400k-edge",
        "in: spread 50 bps with current_upb exactly 400,000.00",
        48,
        50,
        upb=400_000.00,
        amount=520_000,
        value=700_000,
        market="seattle",
    )
    refi(
        "refi-50bps-below-400k",
        "out: spread 50 bps with current_upb 399,999.99 (needs 75)",
        48,
        50,
        upb=399_999.99,
        amount=520_000,
        value=700_000,
        market="new_york",
    )
    refi(
        "refi-50bps-450k-stop-reply",
        "in: 50 bps at 450,000; replied 'Stop.' so no sms",
        36,
        50,
        upb=450_000.00,
        amount=600_000,
        value=800_000,
        market="phoenix",
    )
    s.event(
        "B-refi-50bps-450k-stop-reply",
        "1",
        "sms_reply",
        at(days_before(d, 10), 17, 5),
        "Stop.",
        "refinance",
    )
    refi(
        "refi-15yr-vs-fixed-15",
        "in: a 15-year loan 75 bps over fixed_15 (not over fixed_30)",
        44,
        75,
        over=m15,
        term_months=180,
        upb=200_000.00,
        amount=300_000,
        value=450_000,
        market="atlanta",
    )
    arm_close = months_before(d, 30)
    refi(
        "refi-arm-into-fixed-30",
        "in: an ARM, compared with fixed_30; balance by amortization",
        30,
        100,
        rate_type="arm",
        amount=450_000,
        value=600_000,
        market="chicago",
        next_rate_reset_date=add_months(first_payment(np.datetime64(arm_close, "D")), 60).item(),
    )
    refi(
        "refi-6m-edge",
        "in: closed D-6 months, months_since_close 6",
        6,
        150,
        amount=350_000,
        value=440_000,
        market="houston",
    )
    refi(
        "refi-5m-edge",
        "out: closed D-6 months + 1 day, months_since_close 5",
        6,
        150,
        close=months_before(d, 6) + timedelta(days=1),
        amount=350_000,
        value=440_000,
        market="houston",
    )
    refi(
        "refi-two-loans-home",
        "in with its sibling: the audience keeps the larger balance",
        20,
        125,
        borrower="refi-two-loans",
        amount=320_000,
        value=420_000,
    )
    refi(
        "refi-two-loans-rental",
        "in: larger current_upb (450,000) of its borrower's two loans",
        26,
        125,
        borrower="refi-two-loans",
        occupancy="investment",
        upb=450_000.00,
        amount=560_000,
        value=800_000,
        market="phoenix",
    )
    refi(
        "refi-tie-a",
        "in: ties refi-tie-b on current_upb 350,000, smaller loan_id wins",
        18,
        100,
        borrower="refi-tie",
        upb=350_000.00,
        amount=420_000,
        value=600_000,
    )
    refi(
        "refi-tie-b",
        "tie partner of refi-tie-a (loses the tie)",
        22,
        100,
        borrower="refi-tie",
        occupancy="investment",
        upb=350_000.00,
        amount=420_000,
        value=600_000,
        market="san_diego",
    )
    refi("refi-converted-30d-ago", "out: converted on refinance D-30", 30, 100, upb=300_000.00)
    s.converted("B-refi-converted-30d-ago", "refinance", days_before(d, 30), 4_800.00)
    refi(
        "refi-forbearance",
        "out: in forbearance",
        30,
        100,
        upb=300_000.00,
        servicing_status="forbearance",
        market="dallas",
    )
