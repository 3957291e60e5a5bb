"""The landing zone's sources and their rules (INPUTS.md), as data the loader and validator read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["text", "date", "timestamp", "decimal", "integer", "boolean"]

STATUSES = (
    "application", "pre_approved", "processing", "clear_to_close",
    "funded", "paid_off", "withdrawn", "denied",
)
PRODUCTS = ("insurance", "heloc", "refinance", "financial_planning", "investment_property")
USPS_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR VI GU AS MP"
).split()

E164 = r"^\+[1-9][0-9]{7,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ZIP5 = r"^[0-9]{5}$"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"
    required: bool = False  # not null
    allowed: tuple[str, ...] | None = None  # case-insensitive set of values
    pattern: str | None = None  # regex a non-null value must match
    min: float | None = None  # inclusive lower bound
    max: float | None = None  # inclusive upper bound
    min_exclusive: float | None = None
    max_exclusive: float | None = None
    rule: str | None = None  # a name for the rule where the bound has a business meaning
    pii: bool = False  # never printed: errors show the row's key and line instead


@dataclass(frozen=True)
class ForeignKey:
    column: str
    source: str
    target_column: str


@dataclass(frozen=True)
class Source:
    name: str
    kind: Literal["state", "log"]
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    # the timestamp/date that says when a row became known; rows after the as_of are ignored
    known_at: str | None = None
    # bad rows are quarantined (up to a share of the file) rather than stopping the run
    quarantine: bool = False
    # consent data fails closed: never quarantined
    consent: bool = False
    extra: dict = field(default_factory=dict)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


RATE = dict(kind="decimal", min=0.5, max_exclusive=20, rule="rate_in_percent")

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "borrowers", "state", True, key=("borrower_id",),
            columns=(
                Column("borrower_id", required=True),
                Column("first_name", required=True, pii=True),
                Column("last_name", required=True, pii=True),
                Column("email", pattern=EMAIL, pii=True),
                Column("phone", pattern=E164, pii=True),
                Column("mailing_address", pii=True),
                Column("mailing_city", pii=True),
                Column("mailing_state", allowed=tuple(USPS_STATES)),
                Column("mailing_zip", pattern=ZIP5),
                Column("timezone", pattern=r"^[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)*$"),
                Column("is_investor", kind="boolean"),
                Column("annual_income", kind="decimal", min=0),
            ),
        ),
        Source(
            "loans", "state", True, key=("loan_id",),
            foreign_keys=(
                ForeignKey("borrower_id", "borrowers", "borrower_id"),
                ForeignKey("loan_officer_id", "loan_officers", "loan_officer_id"),
            ),
            columns=(
                Column("loan_id", required=True),
                Column("borrower_id", required=True),
                Column("loan_officer_id"),
                Column("loan_purpose", required=True,
                       allowed=("purchase", "rate_term_refi", "cash_out_refi")),
                Column("occupancy", required=True,
                       allowed=("primary", "second_home", "investment")),
                Column("property_type", required=True,
                       allowed=("sfr", "condo", "townhouse", "multi_2_4", "manufactured")),
                Column("property_state", required=True, allowed=tuple(USPS_STATES)),
                Column("property_zip", pattern=ZIP5),
                Column("property_cbsa", pattern=r"^[0-9]{5}$"),
                Column("property_census_tract", pattern=r"^[0-9]{11}$"),
                Column("rate_type", required=True, allowed=("fixed", "arm")),
                Column("term_months", kind="integer", required=True, min=120, max=480),
                Column("note_rate", required=True, **RATE),
                Column("original_amount", kind="decimal", required=True, min_exclusive=0),
                Column("original_value", kind="decimal", required=True, min_exclusive=0),
                Column("first_payment_date", kind="date"),
                Column("close_date", kind="date"),
                Column("current_upb", kind="decimal", min=0),
                Column("status", required=True, allowed=STATUSES),
                Column("status_date", kind="date", required=True),
                Column("servicing_status", allowed=(
                    "current", "delinquent_30", "delinquent_60_plus", "forbearance",
                    "bankruptcy", "foreclosure")),
                Column("credit_score", kind="integer", min=300, max=850),
                Column("has_pmi", kind="boolean"),
                Column("next_rate_reset_date", kind="date"),
            ),
        ),
        Source(
            "loan_events", "log", False, quarantine=True, known_at="occurred_at",
            key=("loan_id", "milestone", "occurred_at"),
            foreign_keys=(ForeignKey("loan_id", "loans", "loan_id"),),
            columns=(
                Column("loan_id", required=True),
                Column("milestone", required=True, allowed=STATUSES),
                Column("occurred_at", kind="timestamp", required=True),
            ),
        ),
        Source(
            "loan_officers", "state", False, key=("loan_officer_id",),
            columns=(
                Column("loan_officer_id", required=True),
                Column("name", required=True),
                Column("email", required=True, pattern=EMAIL),
                Column("phone", pattern=E164),
                Column("nmls_id", required=True),
            ),
        ),
        Source(
            "market_rates", "log", True, known_at="rate_date",
            key=("rate_date", "product"),
            columns=(
                Column("rate_date", kind="date", required=True),
                Column("product", required=True),
                Column("rate", required=True, **RATE),
                Column("apr", **RATE),
                Column("published_on", kind="date"),
            ),
        ),
        Source(
            "hpi", "log", True, known_at="period_start",
            key=("geo_level", "geo_code", "period_start"),
            columns=(
                Column("geo_level", required=True, allowed=("cbsa", "state", "national", "zip3")),
                Column("geo_code", required=True),
                Column("period_start", kind="date", required=True),
                Column("index_value", kind="decimal", required=True, min_exclusive=0),
                Column("published_on", kind="date"),
            ),
        ),
        Source(
            "engagement_events", "log", False, quarantine=True, known_at="occurred_at",
            key=("event_id",),
            foreign_keys=(ForeignKey("borrower_id", "borrowers", "borrower_id"),),
            columns=(
                Column("event_id", required=True),
                Column("borrower_id", required=True),
                Column("campaign_id"),
                Column("event_type", required=True, allowed=(
                    "email_open", "email_click", "web_visit", "form_submit", "sms_reply",
                    "call_connected", "email_bounce", "unsubscribe")),
                Column("occurred_at", kind="timestamp", required=True),
                Column("detail", pii=True),
            ),
        ),
        Source(
            "contact_preferences", "log", False, consent=True,
            key=("borrower_id", "channel", "action", "recorded_at"),
            foreign_keys=(ForeignKey("borrower_id", "borrowers", "borrower_id"),),
            columns=(
                Column("borrower_id", required=True),
                Column("channel", required=True,
                       allowed=("email", "sms", "phone", "mail", "partner_sharing")),
                Column("action", required=True, allowed=("opt_in", "opt_out")),
                Column("recorded_at", kind="timestamp", required=True),
                Column("source"),
            ),
        ),
        Source(
            "dnc_numbers", "log", False, consent=True, key=("phone", "list_name"),
            columns=(
                Column("phone", required=True, pattern=E164, pii=True),
                Column("list_name", required=True, allowed=("national", "internal")),
                Column("added_at", kind="date", required=True),
            ),
        ),
        Source(
            "conversions", "log", False, quarantine=True, known_at="converted_at",
            key=("borrower_id", "product", "converted_at"),
            foreign_keys=(ForeignKey("borrower_id", "borrowers", "borrower_id"),),
            columns=(
                Column("borrower_id", required=True),
                Column("product", required=True, allowed=PRODUCTS),
                Column("converted_at", kind="date", required=True),
                Column("campaign_id"),
                Column("revenue", kind="decimal", min=0),
            ),
        ),
        Source(
            "template_approvals", "log", False, consent=True, known_at="reviewed_at",
            key=("template_id", "template_sha256", "status", "reviewed_at"),
            columns=(
                Column("template_id", required=True),
                Column("template_sha256", required=True, pattern=r"^[0-9a-fA-F]{64}$"),
                Column("status", required=True, allowed=("approved", "rejected", "pending")),
                Column("reviewed_by", required=True),
                Column("reviewed_at", kind="timestamp", required=True),
            ),
        ),
        Source(
            "census_tracts", "state", False, quarantine=True, key=("census_tract",),
            columns=(
                Column("census_tract", required=True, pattern=r"^[0-9]{11}$"),
                Column("minority_pct", kind="decimal", min=0, max=100),
                Column("tract_income_level", allowed=("low", "moderate", "middle", "upper")),
            ),
        ),
    )
}
