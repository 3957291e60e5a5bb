"""An independent oracle of shared/contract/RULES.md, worked out from the contract text alone.

It reads a landing zone (INPUTS.md: `<source>.csv`, `<source>.parquet` or a folder of drops)
and an as_of date and returns what RULES.md says the warehouse should hold for that night:

- `features[loan_id]`: the "Loan features" section, one dict per loan;
- `audiences[campaign_id][borrower_id] = loan_id`: the default campaign pack's audiences;
- `excluded[campaign_id]`: borrowers whose loan met the trigger but who converted on the
  campaign's product in the 365 days up to as_of.

Nothing here imports the pipeline: it is plain Python (decimal, datetime, csv; polars only to
read Parquet) so that it can disagree with the dbt models.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

CENT = Decimal("0.01")
MAX_CLTV = Decimal("0.85")
CLOSING_COST_SHARE = Decimal("0.02")
PRECISION = 60  # digits for the Decimal arithmetic before rounding to cents

# RULES.md "engagement_score": weights; any other event type weighs 0.
ENGAGEMENT_WEIGHTS = {
    "email_open": 1, "email_click": 3, "web_visit": 2, "form_submit": 10,
    "sms_reply": 5, "call_connected": 5,
}
ENGAGEMENT_HALF_LIFE_DAYS = 30

CAMPAIGNS = (
    "insurance", "post_close_welcome", "heloc", "refinance",
    "financial_planning", "investment_property",
)
POST_CLOSE_CAMPAIGNS = ("heloc", "refinance", "financial_planning", "investment_property")
# The product a conversion on which excludes the borrower; post_close_welcome has none.
CAMPAIGN_PRODUCT = {
    "insurance": "insurance", "post_close_welcome": None, "heloc": "heloc",
    "refinance": "refinance", "financial_planning": "financial_planning",
    "investment_property": "investment_property",
}
CONVERSION_LOOKBACK_DAYS = 365

# Default thresholds, hand-coded from the RULES.md campaign table.
INSURANCE_WINDOW_DAYS = 7
WELCOME_WINDOW_DAYS = 7
HELOC_MONTHS = (24, 36)
HELOC_MIN_EQUITY = Decimal(50000)
REFI_JUMBO_UPB = Decimal(400000)
REFI_SPREAD_JUMBO_BPS = Decimal(50)
REFI_SPREAD_BPS = Decimal(75)
REFI_MIN_MONTHS = 6
REFI_MIN_SAVINGS = Decimal(100)
REFI_MAX_BREAKEVEN = 36
FP_DAYS = (60, 90)
FP_MIN_AMOUNT_EXCLUSIVE = Decimal(500000)
INV_MONTHS = (12, 24)
INV_MAX_LTV = Decimal("0.70")
INV_MIN_INCOME = Decimal(150000)
INV_MIN_CREDIT = 700

FEATURE_FIELDS = (
    "months_since_close", "days_since_close", "payments_made", "scheduled_payment",
    "current_upb", "est_value", "value_method", "current_ltv", "available_equity",
    "market_rate", "rate_spread_bps", "new_payment", "monthly_savings", "closing_costs",
    "breakeven_months", "engagement_score", "lifecycle_stage",
)
MONEY_FIELDS = (
    "scheduled_payment", "current_upb", "est_value", "available_equity", "new_payment",
    "monthly_savings", "closing_costs",
)

# --------------------------------------------------------------------------------------------
# Reading the landing zone (INPUTS.md)
# --------------------------------------------------------------------------------------------

# Column kinds the oracle needs (other columns are kept as text).
KINDS: dict[str, dict[str, str]] = {
    "borrowers": {"is_investor": "boolean", "annual_income": "decimal"},
    "loans": {
        "term_months": "integer", "note_rate": "decimal", "original_amount": "decimal",
        "original_value": "decimal", "first_payment_date": "date", "close_date": "date",
        "current_upb": "decimal", "status_date": "date", "credit_score": "integer",
        "has_pmi": "boolean", "next_rate_reset_date": "date",
    },
    "loan_events": {"occurred_at": "timestamp"},
    "market_rates": {"rate_date": "date", "rate": "decimal", "apr": "decimal",
                     "published_on": "date"},
    "hpi": {"period_start": "date", "index_value": "decimal", "published_on": "date"},
    "engagement_events": {"occurred_at": "timestamp"},
    "conversions": {"converted_at": "date", "revenue": "decimal"},
}
# Enumerated values are case-insensitive: the oracle lowercases them.
ENUMS: dict[str, tuple[str, ...]] = {
    "loans": ("loan_purpose", "occupancy", "property_type", "rate_type", "status",
              "servicing_status"),
    "loan_events": ("milestone",),
    "market_rates": ("product",),
    "hpi": ("geo_level",),
    "engagement_events": ("event_type",),
    "conversions": ("product",),
}
STATE_KEYS = {"borrowers": ("borrower_id",), "loans": ("loan_id",)}
LOG_KEYS = {
    "loan_events": ("loan_id", "milestone", "occurred_at"),
    "market_rates": ("rate_date", "product"),
    "hpi": ("geo_level", "geo_code", "period_start"),
    "engagement_events": ("event_id",),
    "conversions": ("borrower_id", "product", "converted_at"),
}
TRUE = {"true", "t", "1", "yes", "y"}
FALSE = {"false", "f", "0", "no", "n"}


def _source_files(folder: Path, name: str) -> list[Path]:
    """The files of one source: `<name>.csv|.parquet`, or every file in the folder `<name>/`."""
    files = [folder / f"{name}.{ext}" for ext in ("csv", "parquet")]
    files = [f for f in files if f.is_file()]
    drops = folder / name
    if drops.is_dir():
        files += sorted(
            (f for f in drops.iterdir()
             if f.is_file() and f.suffix.lower() in (".csv", ".parquet")),
            key=lambda f: f.name,
        )
    return files


def _read_file(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".parquet":
        import polars as pl

        frame = pl.read_parquet(path)
        return [{k.lower(): v for k, v in row.items()} for row in frame.to_dicts()]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return [{k.lower(): (v if v != "" else None) for k, v in row.items()} for row in reader]


def parse_timestamp(value: Any) -> datetime:
    """INPUTS.md: ISO with an offset or Z; without an offset it is UTC. Returned in UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and value.strip() == "":
        return None
    if kind == "decimal":
        return value if isinstance(value, Decimal) else Decimal(str(value).strip())
    if kind == "integer":
        return int(Decimal(str(value).strip()))
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValueError(f"not a boolean: {value!r}")
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return date.fromisoformat(str(value).strip()[:10])
    if kind == "timestamp":
        return parse_timestamp(value)
    return value


def read_source(folder: Path, name: str) -> list[dict[str, Any]]:
    """Typed rows of one source, with drops merged as INPUTS.md says (state: last file wins)."""
    kinds = KINDS.get(name, {})
    enums = ENUMS.get(name, ())
    rows: list[dict[str, Any]] = []
    for path in _source_files(Path(folder), name):
        for raw in _read_file(path):
            row = {}
            for column, value in raw.items():
                typed = _parse(kinds.get(column, "text"), value)
                if column in enums and isinstance(typed, str):
                    typed = typed.strip().lower()
                row[column] = typed
            rows.append(row)
    if name in STATE_KEYS:
        keyed: dict[tuple, dict] = {}
        for row in rows:  # files in name order, so the last file's row wins
            keyed[tuple(row.get(k) for k in STATE_KEYS[name])] = row
        return list(keyed.values())
    if name in LOG_KEYS:
        seen: dict[tuple, dict] = {}
        for row in rows:
            seen.setdefault(tuple(row.get(k) for k in LOG_KEYS[name]), row)
        return list(seen.values())
    return rows


# --------------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------------


def cents(value: Decimal) -> Decimal:
    """Money: half-up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def months_between(start: date, end: date) -> int:
    """Completed months from start to end: (y2-y1)*12 + (m2-m1) - (1 if d2 < d1 else 0)."""
    behind = 1 if end.day < start.day else 0
    return (end.year - start.year) * 12 + (end.month - start.month) - behind


def payment(principal: Decimal, annual_rate_pct: Decimal, months: int) -> Decimal:
    """P&I `M = P·r / (1 − (1+r)^−n)`, r = rate/1200, rounded to cents."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        r = annual_rate_pct / Decimal(1200)
        if r == 0:
            return cents(principal / months)
        growth = (1 + r) ** months
        return cents(principal * r / (1 - 1 / growth))


def amortized_balance(principal: Decimal, annual_rate_pct: Decimal, monthly_payment: Decimal,
                      k: int) -> Decimal:
    """`P·(1+r)^k − M·((1+r)^k − 1)/r`, not below 0, rounded to cents (M already in cents)."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        r = annual_rate_pct / Decimal(1200)
        if r == 0:
            balance = principal - monthly_payment * k
        else:
            growth = (1 + r) ** k
            balance = principal * growth - monthly_payment * (growth - 1) / r
        return cents(max(Decimal(0), balance))


def _exact(fn: Callable[[], Decimal]) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return fn()


# --------------------------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------------------------


@dataclass
class OracleResult:
    as_of: date
    features: dict[str, dict[str, Any]]
    audiences: dict[str, dict[str, str]]
    excluded: dict[str, set[str]]
    # campaign -> borrower -> every qualifying loan before the tie-break (for diagnosis)
    candidates: dict[str, dict[str, list[str]]] = field(default_factory=dict)


class Zone:
    """The landing zone as known at the end of as_of (UTC)."""

    def __init__(self, folder: Path, as_of: date):
        folder = Path(folder)
        self.as_of = as_of
        self.borrowers = {r["borrower_id"]: r for r in read_source(folder, "borrowers")}
        self.loans = {r["loan_id"]: r for r in read_source(folder, "loans")}
        # "A time-stamped row later than the as_of is not yet known": an event belongs to the
        # UTC date of its timestamp.
        self.loan_events = [r for r in read_source(folder, "loan_events")
                            if r.get("occurred_at") is not None
                            and r["occurred_at"].date() <= as_of]
        self.engagement = [r for r in read_source(folder, "engagement_events")
                           if r.get("occurred_at") is not None
                           and r["occurred_at"].date() <= as_of]
        self.conversions = [r for r in read_source(folder, "conversions")
                            if r.get("converted_at") is not None and r["converted_at"] <= as_of]

        def known(row: dict, when: str) -> bool:
            if row.get(when) is None or row[when] > as_of:
                return False
            published = row.get("published_on")
            return published is None or published <= as_of

        self.market_rates = [r for r in read_source(folder, "market_rates")
                             if known(r, "rate_date")]
        self.hpi = [r for r in read_source(folder, "hpi") if known(r, "period_start")]
        # (geo_level, geo_code) -> [(period_start, index_value)] sorted by period
        self.hpi_series: dict[tuple[str, str], list[tuple[date, Decimal]]] = {}
        for row in self.hpi:
            key = (row["geo_level"], str(row["geo_code"]).strip().upper())
            self.hpi_series.setdefault(key, []).append((row["period_start"], row["index_value"]))
        for series in self.hpi_series.values():
            series.sort()
        self.national_codes = sorted(code for level, code in self.hpi_series if level == "national")

    # ---- lookups -------------------------------------------------------------------------

    def hpi_on_or_before(self, series: list[tuple[date, Decimal]], day: date) -> Decimal | None:
        value = None
        for period, index in series:
            if period <= day:
                value = index
            else:
                break
        return value

    def rate_in_force(self, product: str) -> Decimal | None:
        rows = [r for r in self.market_rates if r["product"] == product]
        if not rows:
            return None
        return max(rows, key=lambda r: r["rate_date"])["rate"]

    def engagement_scores(self) -> dict[str, Decimal]:
        totals: dict[str, float] = {}
        seen: set[str] = set()
        for row in self.engagement:
            if row["event_id"] in seen:
                continue
            seen.add(row["event_id"])
            weight = ENGAGEMENT_WEIGHTS.get(row.get("event_type") or "", 0)
            age_days = (self.as_of - row["occurred_at"].date()).days
            totals[row["borrower_id"]] = (totals.get(row["borrower_id"], 0.0)
                                          + weight * 0.5 ** (age_days / ENGAGEMENT_HALF_LIFE_DAYS))
        return {b: Decimal(repr(v)).quantize(CENT, rounding=ROUND_HALF_UP)
                for b, v in totals.items()}

    # ---- features ------------------------------------------------------------------------

    def estimate_value(self, loan: dict) -> tuple[Decimal, str]:
        candidates: list[tuple[str, tuple[str, str]]] = []
        if loan.get("property_cbsa"):
            candidates.append(("cbsa", ("cbsa", str(loan["property_cbsa"]).strip().upper())))
        if loan.get("property_state"):
            candidates.append(("state", ("state", str(loan["property_state"]).strip().upper())))
        for code in (["US"] if "US" in self.national_codes else self.national_codes):
            candidates.append(("national", ("national", code)))
        close = loan.get("close_date")
        if close is not None:
            for method, key in candidates:
                series = self.hpi_series.get(key, [])
                orig = self.hpi_on_or_before(series, close)
                now = self.hpi_on_or_before(series, self.as_of)
                if orig is not None and now is not None:
                    with localcontext() as ctx:
                        ctx.prec = PRECISION
                        value = loan["original_value"] * now / orig
                    return cents(value), method
        return cents(loan["original_value"]), "none"

    def loan_features(self, loan: dict, scores: dict[str, Decimal]) -> dict[str, Any]:
        as_of = self.as_of
        f: dict[str, Any] = {name: None for name in FEATURE_FIELDS}
        f["loan_id"] = loan["loan_id"]
        f["borrower_id"] = loan["borrower_id"]
        close = loan.get("close_date")
        if close is not None:
            f["months_since_close"] = months_between(close, as_of)
            f["days_since_close"] = (as_of - close).days
        f["engagement_score"] = scores.get(loan["borrower_id"], Decimal("0.00"))
        f["lifecycle_stage"] = lifecycle_stage(loan["status"], f["days_since_close"])

        if loan["status"] == "funded":
            principal, note, term = loan["original_amount"], loan["note_rate"], loan["term_months"]
            fpd = loan.get("first_payment_date")
            # RULES.md is silent on a funded loan without a first_payment_date: no payment is
            # known to have fallen due, so k = 0 (INPUTS.md: the date is "nullable until funded").
            k = 0 if fpd is None or as_of < fpd else months_between(fpd, as_of) + 1
            f["payments_made"] = min(k, term)
            f["scheduled_payment"] = payment(principal, note, term)
            if loan.get("current_upb") is not None:
                f["current_upb"] = cents(loan["current_upb"])
            else:
                f["current_upb"] = amortized_balance(principal, note, f["scheduled_payment"],
                                                     f["payments_made"])
            f["est_value"], f["value_method"] = self.estimate_value(loan)
            upb, value = f["current_upb"], f["est_value"]
            if upb is not None:
                f["current_ltv"] = _exact(lambda: upb / value) if value else None
                f["available_equity"] = cents(max(Decimal(0), _exact(
                    lambda: value * MAX_CLTV - upb)))
            refi_months = 180 if (term <= 180 and loan.get("rate_type") != "arm") else 360
            product = "fixed_15" if refi_months == 180 else "fixed_30"
            f["market_rate"] = self.rate_in_force(product)
            if f["market_rate"] is not None:
                f["rate_spread_bps"] = (note - f["market_rate"]) * 100
                if upb is not None:
                    f["new_payment"] = payment(upb, f["market_rate"], refi_months)
                    f["monthly_savings"] = f["scheduled_payment"] - f["new_payment"]
                    f["closing_costs"] = cents(upb * CLOSING_COST_SHARE)
                    if f["monthly_savings"] > 0:
                        f["breakeven_months"] = int(_exact(
                            lambda: (f["closing_costs"] / f["monthly_savings"])
                            .to_integral_value(rounding=ROUND_CEILING)))
        return f

    # ---- campaigns -----------------------------------------------------------------------

    def ctc_dates(self) -> dict[str, list[date]]:
        dates: dict[str, list[date]] = {}
        for event in self.loan_events:
            if event.get("milestone") == "clear_to_close":
                dates.setdefault(event["loan_id"], []).append(event["occurred_at"].date())
        return dates

    def qualifies(self, campaign: str, loan: dict, f: dict, ctc: dict[str, list[date]]) -> bool:
        as_of = self.as_of
        borrower = self.borrowers.get(loan["borrower_id"], {})
        status = loan["status"]
        if campaign in POST_CLOSE_CAMPAIGNS and (
                status != "funded" or loan.get("servicing_status") != "current"):
            return False
        if campaign == "insurance":
            if loan.get("loan_purpose") != "purchase" or status in ("withdrawn", "denied"):
                return False
            start = as_of - timedelta(days=INSURANCE_WINDOW_DAYS)
            if loan["loan_id"] in ctc:
                days = ctc[loan["loan_id"]]
            elif status == "clear_to_close":
                days = [loan["status_date"]]
            else:
                days = []
            return any(start < d <= as_of for d in days)
        if campaign == "post_close_welcome":
            close = loan.get("close_date")
            return (status == "funded" and close is not None
                    and as_of - timedelta(days=WELCOME_WINDOW_DAYS) < close <= as_of)
        if campaign == "heloc":
            m = f["months_since_close"]
            return (m is not None and HELOC_MONTHS[0] <= m <= HELOC_MONTHS[1]
                    and loan.get("occupancy") == "primary"
                    and f["available_equity"] is not None
                    and f["available_equity"] >= HELOC_MIN_EQUITY)
        if campaign == "refinance":
            spread, upb = f["rate_spread_bps"], f["current_upb"]
            if spread is None or upb is None:
                return False
            floor = REFI_SPREAD_JUMBO_BPS if upb >= REFI_JUMBO_UPB else REFI_SPREAD_BPS
            m = f["months_since_close"]
            return (spread >= floor and m is not None and m >= REFI_MIN_MONTHS
                    and f["monthly_savings"] is not None
                    and f["monthly_savings"] >= REFI_MIN_SAVINGS
                    and f["breakeven_months"] is not None
                    and f["breakeven_months"] <= REFI_MAX_BREAKEVEN)
        if campaign == "financial_planning":
            d = f["days_since_close"]
            return (d is not None and FP_DAYS[0] <= d <= FP_DAYS[1]
                    and (loan["original_amount"] > FP_MIN_AMOUNT_EXCLUSIVE
                         or borrower.get("is_investor") is True
                         or loan.get("occupancy") == "investment"))
        if campaign == "investment_property":
            m, ltv = f["months_since_close"], f["current_ltv"]
            income = borrower.get("annual_income")
            credit = loan.get("credit_score")
            return (m is not None and INV_MONTHS[0] <= m <= INV_MONTHS[1]
                    and loan.get("occupancy") == "primary"
                    and ((ltv is not None and ltv <= INV_MAX_LTV)
                         or (income is not None and income >= INV_MIN_INCOME))
                    and credit is not None and credit >= INV_MIN_CREDIT)
        raise KeyError(campaign)

    def converted(self, borrower_id: str, product: str | None) -> bool:
        if product is None:
            return False
        start = self.as_of - timedelta(days=CONVERSION_LOOKBACK_DAYS)
        return any(c["borrower_id"] == borrower_id and c["product"] == product
                   and start < c["converted_at"] <= self.as_of for c in self.conversions)

    def compute(self) -> OracleResult:
        scores = self.engagement_scores()
        features = {lid: self.loan_features(loan, scores) for lid, loan in self.loans.items()}
        ctc = self.ctc_dates()
        audiences: dict[str, dict[str, str]] = {}
        excluded: dict[str, set[str]] = {}
        candidates: dict[str, dict[str, list[str]]] = {}
        for campaign in CAMPAIGNS:
            per_borrower: dict[str, list[str]] = {}
            for lid, loan in self.loans.items():
                if self.qualifies(campaign, loan, features[lid], ctc):
                    per_borrower.setdefault(loan["borrower_id"], []).append(lid)
            candidates[campaign] = per_borrower
            excluded[campaign] = {b for b in per_borrower
                                  if self.converted(b, CAMPAIGN_PRODUCT[campaign])}
            audiences[campaign] = {
                b: pick_loan(lids, self.loans, features)
                for b, lids in per_borrower.items() if b not in excluded[campaign]
            }
        return OracleResult(self.as_of, features, audiences, excluded, candidates)


def lifecycle_stage(status: str, days_since_close: int | None) -> str | None:
    if status == "application":
        return "lead"
    if status == "pre_approved":
        return "pre_approved"
    if status in ("processing", "clear_to_close"):
        return "in_processing"
    if status == "funded":
        if days_since_close is None:
            return None  # RULES.md does not say; a funded loan has a close_date
        if days_since_close < 30:
            return "funded"
        if days_since_close < 365:
            return "post_close"
        return "long_term_nurture"
    if status == "paid_off":
        return "paid_off"
    if status in ("withdrawn", "denied"):
        return "inactive"
    return None


def pick_loan(loan_ids: list[str], loans: dict[str, dict], features: dict[str, dict]) -> str:
    """Largest current_upb (original_amount for a loan not yet funded); ties: smallest loan_id."""

    def size(lid: str) -> Decimal:
        upb = features[lid]["current_upb"]
        return upb if upb is not None else loans[lid]["original_amount"]

    return min(loan_ids, key=lambda lid: (-size(lid), lid))


def oracle(folder: Path, as_of: date) -> OracleResult:
    """Expected loan features and audiences for the landing zone `folder` on the night as_of."""
    return Zone(Path(folder), as_of).compute()


__all__ = [
    "CAMPAIGNS", "FEATURE_FIELDS", "MONEY_FIELDS", "OracleResult", "Zone", "amortized_balance",
    "cents", "lifecycle_stage", "months_between", "oracle", "payment", "pick_loan",
    "read_source",
]
