"""The random part of the loan book: statuses, vintages, rates, amounts, balances, servicing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .dates import DAY, add_months, date_series, first_payment, months_between
from .geography import MARKETS, market_column, market_series, market_weights
from .hpi import HpiHistory
from .market import RateHistory
from .milestones import milestone_path
from .people import BorrowerBook
from .schema import conform
from .tracts import TractPool

STATUS_SHARE = {
    "funded": 0.80,
    "paid_off": 0.08,
    "application": 0.02,
    "pre_approved": 0.02,
    "processing": 0.03,
    "clear_to_close": 0.01,
    "withdrawn": 0.02,
    "denied": 0.02,
}
SERVICING_SHARE = {
    "current": 0.95,
    "delinquent_30": 0.02,
    "delinquent_60_plus": 0.01,
    "forbearance": 0.01,
    "bankruptcy": 0.005,
    "foreclosure": 0.005,
}
PROPERTY_TYPE_SHARE = {
    "sfr": 0.65,
    "condo": 0.15,
    "townhouse": 0.10,
    "multi_2_4": 0.06,
    "manufactured": 0.04,
}
PURCHASE_LTV = (0.50, 0.60, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.965, 0.97)
PURCHASE_LTV_SHARE = (0.04, 0.06, 0.10, 0.10, 0.38, 0.06, 0.08, 0.08, 0.05, 0.05)
VINTAGE_DAYS = 7 * 365
# Note rate, in percentage points, that a loan in an all-minority tract carries over one in an
# all-white tract, linear in the tract's minority share
# (centred, so the book's average stays near the survey rate), about 0.4 pp between the
# average loan in a majority-minority tract and elsewhere. HMDA studies find borrowers there
# paying more at origination, and they refinance less often when rates fall, so the loans
# still on the book carry higher rates; the published gaps are smaller (tens of basis points),
# and the sample plants a larger one so that a 2,000-loan book shows it beyond noise. It is
# why the sample's rate-drop alerts gather in those tracts, and with them the frequency cap's
# deferrals of lower-priority campaigns to the same borrowers that day: the disparate impact
# by interaction that fair_lending.reach exists to catch. `xsell sample --tract-rate-gap`
# changes it (0 plants none: the benchmark's book, a night without a fair-lending hold).
TRACT_RATE_GAP_PP = 0.80


@dataclass(frozen=True)
class LoanBook:
    frame: pl.DataFrame
    milestones: np.ndarray  # n x 8 bool: which milestones each loan passed
    milestone_days: np.ndarray  # n x 8 datetime64[D]
    application: np.ndarray  # application day per loan


def amortized_balance(principal, rate_pct, term, payments) -> np.ndarray:
    """Balance after `payments` level payments; RULES.md's current_upb formula."""
    r = np.asarray(rate_pct, dtype=float) / 1200
    growth = (1 + r) ** payments
    payment = principal * r / (1 - (1 + r) ** -np.asarray(term, dtype=float))
    return np.maximum(principal * growth - payment * (growth - 1) / r, 0.0)


def _choose(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    return rng.choice(np.array(list(shares)), size=size, p=list(shares.values()))


def _vintage(rng: np.random.Generator, as_of, rates: RateHistory, latest_offset: int, size: int):
    """Close dates over the last seven years, busiest when rates were low, as in 2020-21."""
    offsets = np.arange(latest_offset, VINTAGE_DAYS + 1)
    days = as_of - offsets * DAY
    weight = np.exp(-0.3 * (rates.in_force("fixed_30", days) / 1000 - 3))
    return days[rng.choice(len(days), size=size, p=weight / weight.sum())]


def random_loans(
    rng: np.random.Generator,
    as_of: np.datetime64,
    owners: np.ndarray,
    borrowers: BorrowerBook,
    officers: int,
    rates: RateHistory,
    hpi: HpiHistory,
    tracts: TractPool,
    tract_rate_gap_pp: float = TRACT_RATE_GAP_PP,
) -> LoanBook:
    n = len(owners)
    status = _choose(rng, STATUS_SHARE, n)
    purpose = rng.choice(
        np.array(["purchase", "rate_term_refi", "cash_out_refi"]),
        n,
        p=[0.6, 0.25, 0.15],
    )
    purpose[status == "pre_approved"] = "purchase"
    investor = borrowers.is_investor[owners]
    occupancy_roll = rng.random(n)
    occupancy = np.where(
        occupancy_roll < np.where(investor, 0.55, 0.07),
        "investment",
        np.where(occupancy_roll > 0.95, "second_home", "primary"),
    )
    # People live where their primary home is; rentals and second homes may be anywhere.
    away = (occupancy != "primary") & (rng.random(n) < 0.5)
    market = np.where(
        away, rng.choice(len(MARKETS), n, p=market_weights()), borrowers.home_market[owners]
    )
    tract = tracts.draw(rng, market)

    funded = status == "funded"
    paid_off = status == "paid_off"
    closed = funded | paid_off
    close = np.where(funded, _vintage(rng, as_of, rates, 0, n), _vintage(rng, as_of, rates, 200, n))
    close = np.where(closed, close, np.datetime64("NaT"))
    payoff = (
        close
        + (rng.random(n) * ((as_of - close).astype(np.int64) - 180)).astype(np.int64) * DAY
        + 180 * DAY
    )
    recent = as_of - rng.integers(0, 31, n) * DAY
    status_date = np.select(
        [funded, paid_off, status == "clear_to_close", np.isin(status, ("withdrawn", "denied"))],
        [
            close,
            payoff,
            as_of - rng.integers(0, 22, n) * DAY,
            as_of - rng.integers(0, 366, n) * DAY,
        ],
        recent,
    )
    lead_days = np.select(
        [
            closed,
            status == "application",
            status == "pre_approved",
            status == "processing",
            status == "clear_to_close",
        ],
        [
            rng.integers(21, 61, n),
            np.zeros(n, dtype=np.int64),
            rng.integers(0, 11, n),
            rng.integers(3, 26, n),
            rng.integers(15, 46, n),
        ],
        rng.integers(3, 41, n),
    )
    application = np.where(closed, close, status_date) - lead_days * DAY

    credit = np.clip(np.round(rng.normal(738, 48, n)), 300, 850).astype(np.int64)
    credit_known = rng.random(n) >= 0.03
    arm = rng.random(n) < 0.08
    term = np.where(
        arm, 360, rng.choice([360, 180, 240, 120, 480], n, p=[0.77, 0.15, 0.05, 0.02, 0.01])
    )
    # A note rate is the survey rate when it was locked, plus pricing for risk, for the
    # tract (TRACT_RATE_GAP_PP) and noise.
    lock_day = np.where(closed, close, application)
    survey = np.where(
        term <= 180, rates.in_force("fixed_15", lock_day), rates.in_force("fixed_30", lock_day)
    )
    pricing = (
        rng.normal(150, 250, n)
        + np.where(occupancy == "investment", 500, 0)
        + np.maximum(0, 740 - credit) * 2.5
        - np.where(arm, 400, 0)
        # thousandths of a percent per point of minority share above or below half
        + (tracts.minority_pct[tract] - 50) * (tract_rate_gap_pp * 10)
    )
    note_rate = np.clip(np.round((survey + pricing) / 125) * 125, 1500, 12_000).astype(np.int64)

    median_price = market_column("median_price").astype(float)[market]
    value = np.maximum(
        np.round(median_price * hpi.national_ratio(lock_day) * rng.lognormal(0, 0.35, n), -3),
        60_000,
    )
    ltv = np.select(
        [purpose == "purchase", purpose == "rate_term_refi"],
        [rng.choice(PURCHASE_LTV, n, p=PURCHASE_LTV_SHARE), rng.uniform(0.40, 0.90, n)],
        rng.uniform(0.35, 0.80, n),
    )
    ltv = np.where(occupancy == "investment", np.minimum(ltv, 0.75), ltv)
    amount = np.round(value * ltv, -2)

    first_pay = np.where(closed, first_payment(close), np.datetime64("NaT"))
    payments = np.where(as_of < first_pay, 0, months_between(first_pay, as_of) + 1)
    payments = np.clip(np.where(closed, payments, 0), 0, term)
    # Most balances are left to amortization downstream; some servicers send one, often
    # lower than schedule because of extra principal payments.
    upb_given = funded & (rng.random(n) < 0.05)
    upb = np.round(
        amortized_balance(amount, note_rate / 1000, term, payments) * rng.uniform(0.88, 1.0, n), 2
    )
    upb = np.where(paid_off, 0.0, np.where(upb_given, upb, np.nan))

    servicing = _choose(rng, SERVICING_SHARE, n)
    servicing[paid_off] = "current"  # its standing at payoff
    pmi = np.where(ltv > 0.80, rng.random(n) < 0.93, False)
    pmi_known = closed & (rng.random(n) >= 0.03)

    # ARMs reset first after 5 or 7 years, then yearly; report the next reset after as_of.
    first_reset = add_months(first_pay, np.where(rng.random(n) < 0.7, 60, 84))
    behind = np.where(first_reset <= as_of, months_between(first_reset, as_of) // 12 + 1, 0)
    next_reset = np.where(arm & funded, add_months(first_reset, 12 * behind), np.datetime64("NaT"))

    officer = rng.integers(1, officers + 1, n)
    officer_known = rng.random(n) >= 0.05
    frame = pl.DataFrame(
        {
            "number": np.arange(1, n + 1),
            "borrower_id": borrowers.frame["borrower_id"].gather(pl.Series(owners)),
            "officer": officer,
            "officer_known": officer_known,
            "loan_purpose": pl.Series(purpose, dtype=pl.String),
            "occupancy": pl.Series(occupancy, dtype=pl.String),
            "property_type": pl.Series(_choose(rng, PROPERTY_TYPE_SHARE, n), dtype=pl.String),
            "property_state": market_series("state", market),
            "zip3": market_series("zip3", market),
            "zip_tail": rng.integers(1, 100, n),
            "zip_known": rng.random(n) >= 0.02,
            "property_cbsa": market_series("cbsa", market),
            "tract": tracts.code(tract),
            "tract_known": rng.random(n) >= 0.04,
            "rate_type": pl.Series(np.where(arm, "arm", "fixed"), dtype=pl.String),
            "term_months": term,
            "note_rate": note_rate / 1000,
            "original_amount": amount,
            "original_value": value,
            "first_payment_date": date_series("first_payment_date", first_pay),
            "close_date": date_series("close_date", close),
            "current_upb": pl.Series(upb, nan_to_null=True),
            "status": pl.Series(status, dtype=pl.String),
            "status_date": date_series("status_date", status_date),
            "servicing_status": pl.Series(servicing, dtype=pl.String),
            "closed": closed,
            "credit_score": credit,
            "credit_known": credit_known,
            "has_pmi": pmi,
            "pmi_known": pmi_known,
            "next_rate_reset_date": date_series("next_rate_reset_date", next_reset),
        }
    ).with_columns(
        loan_id=pl.format("L{}", pl.col("number").cast(pl.String).str.zfill(7)),
        loan_officer_id=pl.when("officer_known").then(
            pl.format("LO{}", pl.col("officer").cast(pl.String).str.zfill(5))
        ),
        property_zip=pl.when("zip_known").then(
            pl.concat_str(pl.col("zip3"), pl.col("zip_tail").cast(pl.String).str.zfill(2))
        ),
        property_census_tract=pl.when("tract_known").then(pl.col("tract")),
        credit_score=pl.when("credit_known").then(pl.col("credit_score")),
        has_pmi=pl.when("pmi_known").then(pl.col("has_pmi")),
        servicing_status=pl.when("closed").then(pl.col("servicing_status")),
    )
    has, days = milestone_path(rng, status, purpose == "purchase", application, status_date, close)
    return LoanBook(conform("loans", frame), has, days, application)
