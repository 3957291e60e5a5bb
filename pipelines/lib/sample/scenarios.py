"""Builder of planted cases: the borrower, loan, milestone, consent and activity rows of each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import polars as pl

from .dates import add_months, first_payment
from .geography import MARKET_INDEX, MARKETS, STREET_SUFFIXES, STREETS
from .market import RateHistory
from .people import FIRST_NAMES, LAST_NAMES, PHONE_BLOCK_SCENARIO, phone_numbers
from .schema import conform
from .tracts import TractPool

SCENARIO_OFFICERS = 5  # scenarios use LO00001..LO00005, which always exist


def months_before(as_of: date, months: int) -> date:
    return add_months(np.datetime64(as_of, "D"), -months).item()


def days_before(as_of: date, days: int) -> date:
    return as_of - timedelta(days=days)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


def note_rate_at(rates: RateHistory, day: date) -> float:
    """A plausible note rate for a loan closed that day: the survey rate plus an eighth."""
    survey = int(rates.in_force("fixed_30", np.array([day], dtype="datetime64[D]"))[0])
    return (round(survey / 125) * 125 + 125) / 1000


@dataclass
class Scenarios:
    """Rows of every source for the planted cases, in contract shape once `frames()` is called."""

    as_of: date
    tracts: TractPool
    borrowers: list[dict] = field(default_factory=list)
    loans: list[dict] = field(default_factory=list)
    loan_events: list[dict] = field(default_factory=list)
    engagement_events: list[dict] = field(default_factory=list)
    contact_preferences: list[dict] = field(default_factory=list)
    conversions: list[dict] = field(default_factory=list)
    purpose_of: dict[str, str] = field(default_factory=dict)  # loan_id -> what the case proves

    def borrower(
        self,
        key: str,
        market: str,
        *,
        partner_sharing: str | None = "opt_in",
        onboarded: date | None = None,
        **overrides,
    ) -> str:
        """The case's borrower (created once), consenting to every channel at onboarding.

        `partner_sharing` is the borrower's partner-sharing action, or None for no row.
        """
        borrower_id = f"B-{key}"
        if any(b["borrower_id"] == borrower_id for b in self.borrowers):
            return borrower_id
        k = len(self.borrowers) + 1
        place = MARKETS[MARKET_INDEX[market]]
        first, last = (
            FIRST_NAMES[(k * 7) % len(FIRST_NAMES)],
            LAST_NAMES[(k * 11) % len(LAST_NAMES)],
        )
        street = f"{STREETS[k % len(STREETS)]} {STREET_SUFFIXES[k % len(STREET_SUFFIXES)]}"
        row = {
            "borrower_id": borrower_id,
            "first_name": first,
            "last_name": last,
            # Zero-padded, so never the address of a random borrower (first.last.<number>).
            "email": f"{first}.{last}.{k:04d}@example.com".lower().replace("'", ""),
            "phone": phone_numbers(np.array([PHONE_BLOCK_SCENARIO + k]))[0],
            "mailing_address": f"{100 + 7 * k} {street}",
            "mailing_city": place.city,
            "mailing_state": place.state,
            "mailing_zip": f"{place.zip3}{(k * 13) % 90 + 10:02d}",
            # Half set their zone; the other half exercise the derivation from the state.
            "timezone": place.time_zone if k % 2 == 0 else None,
            "is_investor": False,
            "annual_income": 140_000,
        }
        row.update(overrides)
        self.borrowers.append(row)
        # Consent captured with the application, so the planted audiences can be reached.
        recorded = at(onboarded or self.as_of - timedelta(days=400), 14, 30)
        channels = ["email", "sms", "phone"] + (["partner_sharing"] if partner_sharing else [])
        for channel in channels:
            action = partner_sharing if channel == "partner_sharing" else "opt_in"
            self.prefer(borrower_id, channel, action, recorded, "loan_application")
        return borrower_id

    def prefer(
        self, borrower_id: str, channel: str, action: str, recorded_at: datetime, source: str
    ):
        self.contact_preferences.append(
            {
                "borrower_id": borrower_id,
                "channel": channel,
                "action": action,
                "recorded_at": recorded_at,
                "source": source,
            }
        )

    def loan(
        self,
        case: str,
        why: str,
        *,
        market: str = "los_angeles",
        borrower: str | None = None,
        borrower_fields: dict | None = None,
        partner_sharing: str | None = "opt_in",
        milestones: list[tuple[str, datetime]],
        **fields,
    ) -> str:
        loan_id = f"L-{case}"
        onboarded = (
            milestones[0][1].date() if milestones else fields["status_date"] - timedelta(days=30)
        )
        borrower_id = self.borrower(
            borrower or case,
            market,
            partner_sharing=partner_sharing,
            onboarded=onboarded,
            **(borrower_fields or {}),
        )
        place = MARKETS[MARKET_INDEX[market]]
        ltv = fields["original_amount"] / fields["original_value"]
        row = {
            "loan_id": loan_id,
            "borrower_id": borrower_id,
            "loan_officer_id": f"LO{len(self.loans) % SCENARIO_OFFICERS + 1:05d}",
            "loan_purpose": "purchase",
            "occupancy": "primary",
            "property_type": "sfr",
            "property_state": place.state,
            "property_zip": f"{place.zip3}{(len(self.loans) * 17) % 90 + 10:02d}",
            "property_cbsa": place.cbsa,
            "property_census_tract": self.tracts.first_of(MARKET_INDEX[market]),
            "rate_type": "fixed",
            "term_months": 360,
            "credit_score": 760,
            "has_pmi": ltv > 0.80 if fields.get("status") == "funded" else None,
        }
        row.update(fields)
        self.loans.append(row)
        self.purpose_of[loan_id] = why
        for milestone, occurred_at in milestones:
            self.loan_events.append(
                {"loan_id": loan_id, "milestone": milestone, "occurred_at": occurred_at}
            )
        return loan_id

    def funded(
        self,
        case: str,
        why: str,
        *,
        close: date,
        amount: float,
        value: float,
        note_rate: float,
        ctc_at: datetime | None = None,
        **fields,
    ) -> str:
        """A funded loan with its usual path: application 35 days before closing."""
        milestones = [("application", at(close - timedelta(days=35), 14))]
        if fields.get("loan_purpose", "purchase") == "purchase":
            milestones.append(("pre_approved", at(close - timedelta(days=30), 15)))
        milestones += [
            ("processing", at(close - timedelta(days=20), 16)),
            ("clear_to_close", ctc_at or at(close - timedelta(days=5), 17)),
            ("funded", at(close, 18)),
        ]
        fields.setdefault("status", "funded")
        fields.setdefault("status_date", close)
        fields.setdefault("servicing_status", "current")
        first_due = first_payment(np.datetime64(close, "D")).item()
        return self.loan(
            case,
            why,
            milestones=milestones,
            close_date=close,
            first_payment_date=first_due,
            note_rate=note_rate,
            original_amount=amount,
            original_value=value,
            **fields,
        )

    def clear_to_close(
        self,
        case: str,
        why: str,
        *,
        ctc_at: datetime | None,
        status_date: date | None = None,
        status: str = "clear_to_close",
        extra: list[tuple[str, datetime]] = (),
        **fields,
    ) -> str:
        """A loan that reached clear_to_close; with ctc_at None it has no loan_events at all."""
        if ctc_at is None:
            milestones = []
        else:
            milestones = [("application", at(ctc_at.date() - timedelta(days=40), 14))]
            if fields.get("loan_purpose", "purchase") == "purchase":
                milestones.append(("pre_approved", at(ctc_at.date() - timedelta(days=36), 15)))
            milestones += [
                ("processing", at(ctc_at.date() - timedelta(days=25), 16)),
                ("clear_to_close", ctc_at),
                *extra,
            ]
        fields.setdefault("original_amount", 480_000)
        fields.setdefault("original_value", 600_000)
        fields.setdefault("note_rate", 6.5)
        return self.loan(
            case,
            why,
            milestones=milestones,
            status=status,
            status_date=status_date or milestones[-1][1].date(),
            **fields,
        )

    def engaged(self, borrower_id: str):
        """Recent high-intent activity: engagement_score about 17, over the LO-alert bar of 15."""
        day = self.as_of
        for n, (event_type, back, hour) in enumerate(
            (
                ("form_submit", 1, 15),
                ("email_click", 2, 13),
                ("web_visit", 2, 14),
                ("email_click", 3, 13),
            )
        ):
            self.event(
                borrower_id, f"{n + 1}", event_type, at(day - timedelta(days=back), hour), None
            )

    def event(
        self,
        borrower_id: str,
        suffix: str,
        event_type: str,
        occurred_at: datetime,
        detail: str | None,
        campaign_id: str | None = None,
    ):
        self.engagement_events.append(
            {
                "event_id": f"E-{borrower_id[2:]}-{suffix}",
                "borrower_id": borrower_id,
                "campaign_id": campaign_id,
                "event_type": event_type,
                "occurred_at": occurred_at,
                "detail": detail,
            }
        )

    def converted(self, borrower_id: str, product: str, day: date, revenue: float | None):
        self.conversions.append(
            {
                "borrower_id": borrower_id,
                "product": product,
                "converted_at": day,
                "campaign_id": product,
                "revenue": revenue,
            }
        )

    def frames(self, loans: int) -> dict[str, pl.DataFrame]:
        """Contract-shaped frames, keeping only the first `loans` cases when the book is smaller."""
        kept_loans = self.loans[:loans]
        loan_ids = {row["loan_id"] for row in kept_loans}
        borrower_ids = {row["borrower_id"] for row in kept_loans}

        def frame(source: str, rows: list[dict], key: str, keep: set[str]) -> pl.DataFrame:
            return conform(
                source, pl.DataFrame([r for r in rows if r[key] in keep], infer_schema_length=None)
            )

        return {
            "borrowers": frame("borrowers", self.borrowers, "borrower_id", borrower_ids),
            "loans": conform("loans", pl.DataFrame(kept_loans, infer_schema_length=None)),
            "loan_events": frame("loan_events", self.loan_events, "loan_id", loan_ids),
            "engagement_events": frame(
                "engagement_events", self.engagement_events, "borrower_id", borrower_ids
            ),
            "contact_preferences": frame(
                "contact_preferences", self.contact_preferences, "borrower_id", borrower_ids
            ),
            "conversions": frame("conversions", self.conversions, "borrower_id", borrower_ids),
        }
