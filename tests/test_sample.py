"""The synthetic landing zone: deterministic, valid against INPUTS.md, planted edges exact."""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.lib.sample import write_sample
from pipelines.lib.sample.generate import build_landing_zone
from pipelines.lib.sample.geography import MARKET_INDEX
from pipelines.lib.sample.tracts import build_tracts
from tests.support.rules_oracle import oracle

AS_OF = date(2026, 11, 27)
LOANS = 300

# INPUTS.md, column by column, in its order.
COLUMNS = {
    "borrowers": "borrower_id first_name last_name email phone mailing_address mailing_city "
    "mailing_state mailing_zip timezone is_investor annual_income",
    "loans": "loan_id borrower_id loan_officer_id loan_purpose occupancy property_type "
    "property_state property_zip property_cbsa property_census_tract rate_type term_months "
    "note_rate original_amount original_value first_payment_date close_date current_upb status "
    "status_date servicing_status credit_score has_pmi next_rate_reset_date",
    "loan_events": "loan_id milestone occurred_at",
    "loan_officers": "loan_officer_id name email phone nmls_id",
    "market_rates": "rate_date product rate apr published_on",
    "hpi": "geo_level geo_code period_start index_value published_on",
    "engagement_events": "event_id borrower_id campaign_id event_type occurred_at detail",
    "contact_preferences": "borrower_id channel action recorded_at source",
    "dnc_numbers": "phone list_name added_at",
    "conversions": "borrower_id product converted_at campaign_id revenue",
    "template_approvals": "template_id template_sha256 status reviewed_by reviewed_at",
    "census_tracts": "census_tract minority_pct tract_income_level",
}
SOURCES = tuple(COLUMNS)
TIMESTAMP_COLUMNS = {"occurred_at", "recorded_at", "reviewed_at"}
DATE_COLUMNS = {
    "first_payment_date",
    "close_date",
    "status_date",
    "next_rate_reset_date",
    "rate_date",
    "published_on",
    "period_start",
    "added_at",
    "converted_at",
}
BOOLEAN_COLUMNS = {"is_investor", "has_pmi"}
STATUSES = {
    "application",
    "pre_approved",
    "processing",
    "clear_to_close",
    "funded",
    "paid_off",
    "withdrawn",
    "denied",
}
UNFUNDED = {"application", "pre_approved", "processing", "clear_to_close", "withdrawn", "denied"}
END_OF_AS_OF = f"{AS_OF.isoformat()}T23:59:59Z"

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
EMAIL = re.compile(r"^[a-z0-9.\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)+$")
TIMESTAMP_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def templates_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("templates")
    (root / "refinance").mkdir()
    (root / "_partials").mkdir()
    (root / "refinance" / "refi_rate_alert.email.j2").write_bytes(
        "Rates fell — {{ apr }}\n".encode()
    )
    (root / "_partials" / "signature.j2").write_bytes(b"{{ officer_name }}, NMLS {{ nmls }}\r\n")
    (root / "notes.txt").write_text("not a template")
    return root


@pytest.fixture(scope="module")
def zone(tmp_path_factory, templates_dir) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("zone")
    counts = write_sample(out, loans=LOANS, seed=7, as_of=AS_OF, templates_dir=templates_dir)
    return out, counts


def read(zone_dir: Path, source: str) -> pl.DataFrame:
    """A CSV source as text, the way a loader that trusts nothing sees it."""
    return pl.read_csv(zone_dir / f"{source}.csv", infer_schema=False)


def column(zone_dir: Path, source: str, name: str) -> list:
    return read(zone_dir, source)[name].to_list()


# ---------------------------------------------------------------------------- files and format


def test_writes_every_source_and_counts_its_rows(zone):
    out, counts = zone
    assert set(counts) == set(SOURCES)
    assert counts["loans"] == LOANS
    for source in SOURCES:
        assert read(out, source).height == counts[source], source
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{s}.csv" for s in SOURCES] + ["_as_of"]
    )


def test_as_of_file_holds_the_iso_date_and_a_newline(zone):
    assert (zone[0] / "_as_of").read_bytes() == b"2026-11-27\n"


def test_rerun_writes_identical_bytes(zone, templates_dir, tmp_path):
    write_sample(tmp_path, loans=LOANS, seed=7, as_of=AS_OF, templates_dir=templates_dir)
    for path in zone[0].iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_another_seed_gives_another_book(zone, templates_dir, tmp_path):
    write_sample(tmp_path, loans=LOANS, seed=8, as_of=AS_OF, templates_dir=templates_dir)
    assert (tmp_path / "loans.csv").read_bytes() != (zone[0] / "loans.csv").read_bytes()


def test_parquet_is_deterministic_typed_and_replaces_csv(templates_dir, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_sample(first, loans=120, as_of=AS_OF, templates_dir=templates_dir)  # CSV first
    for out in (first, second):
        write_sample(out, loans=120, as_of=AS_OF, fmt="parquet", templates_dir=templates_dir)
    for source in SOURCES:
        assert (first / f"{source}.parquet").read_bytes() == (
            second / f"{source}.parquet"
        ).read_bytes()
        assert not (first / f"{source}.csv").exists(), "a zone must not hold both formats"
    loans = pl.read_parquet(first / "loans.parquet")
    assert loans.columns == COLUMNS["loans"].split()
    assert loans.schema["note_rate"] == pl.Decimal(15, 3)
    assert loans.schema["property_zip"] == pl.String
    assert loans.schema["close_date"] == pl.Date
    events = pl.read_parquet(first / "loan_events.parquet")
    assert events.schema["occurred_at"] == pl.Datetime("us", "UTC")


def test_csv_follows_the_inputs_dialect(zone):
    for source in SOURCES:
        raw = (zone[0] / f"{source}.csv").read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw, source
        text = raw.decode("utf-8")
        assert text.endswith("\n")
        assert text.split("\n", 1)[0] == ",".join(COLUMNS[source].split()), source
        table = read(zone[0], source)
        for name in table.columns:
            values = [v for v in table[name].to_list() if v is not None]
            assert "" not in values, f"{source}.{name}: null must be an empty cell"
            if name in TIMESTAMP_COLUMNS:
                assert all(TIMESTAMP_Z.match(v) for v in values), f"{source}.{name}"
            if name in DATE_COLUMNS:
                assert all(ISO_DATE.match(v) for v in values), f"{source}.{name}"
            if name in BOOLEAN_COLUMNS:
                assert set(values) <= {"true", "false"}, f"{source}.{name}"


# ------------------------------------------------------------------------------ INPUTS rules


def test_primary_keys_are_unique(zone):
    for source, key in (
        ("borrowers", "borrower_id"),
        ("loans", "loan_id"),
        ("loan_officers", "loan_officer_id"),
        ("census_tracts", "census_tract"),
    ):
        keys = column(zone[0], source, key)
        assert len(keys) == len(set(keys)), source


def test_duplicate_events_are_the_same_event_twice(zone):
    events = read(zone[0], "engagement_events")
    distinct_ids = events["event_id"].n_unique()
    assert distinct_ids < events.height, "the sample should carry a few re-deliveries"
    assert events.unique().height == distinct_ids, "a repeated event_id must repeat its content"


def test_foreign_keys_resolve(zone):
    out = zone[0]
    borrowers = set(column(out, "borrowers", "borrower_id"))
    loans = set(column(out, "loans", "loan_id"))
    officers = set(column(out, "loan_officers", "loan_officer_id"))
    tracts = set(column(out, "census_tracts", "census_tract"))
    assert set(column(out, "loans", "borrower_id")) <= borrowers
    assert set(column(out, "loans", "loan_officer_id")) - {None} <= officers
    assert None in column(out, "loans", "loan_officer_id"), "some loans have no officer"
    assert set(column(out, "loans", "property_census_tract")) - {None} == tracts
    assert set(column(out, "loan_events", "loan_id")) <= loans
    for source in ("engagement_events", "contact_preferences", "conversions"):
        assert set(column(out, source, "borrower_id")) <= borrowers, source


def test_values_follow_the_column_rules(zone):
    out = zone[0]
    loans = read(out, "loans")
    borrowers = read(out, "borrowers")
    enums = {
        ("loans", "loan_purpose"): {"purchase", "rate_term_refi", "cash_out_refi"},
        ("loans", "occupancy"): {"primary", "second_home", "investment"},
        ("loans", "property_type"): {"sfr", "condo", "townhouse", "multi_2_4", "manufactured"},
        ("loans", "rate_type"): {"fixed", "arm"},
        ("loans", "status"): STATUSES,
        ("loans", "servicing_status"): {
            "current",
            "delinquent_30",
            "delinquent_60_plus",
            "forbearance",
            "bankruptcy",
            "foreclosure",
            None,
        },
        ("loan_events", "milestone"): STATUSES,
        ("market_rates", "product"): {"fixed_30", "fixed_15"},
        ("hpi", "geo_level"): {"cbsa", "state", "national"},
        ("engagement_events", "event_type"): {
            "email_open",
            "email_click",
            "web_visit",
            "form_submit",
            "sms_reply",
            "call_connected",
            "email_bounce",
            "unsubscribe",
        },
        ("contact_preferences", "channel"): {"email", "sms", "phone", "mail", "partner_sharing"},
        ("contact_preferences", "action"): {"opt_in", "opt_out"},
        ("dnc_numbers", "list_name"): {"national", "internal"},
        ("conversions", "product"): {
            "insurance",
            "heloc",
            "refinance",
            "financial_planning",
            "investment_property",
        },
        ("census_tracts", "tract_income_level"): {"low", "moderate", "middle", "upper"},
    }
    for (source, name), allowed in enums.items():
        assert set(column(out, source, name)) <= allowed, f"{source}.{name}"

    for source, name in (("loans", "note_rate"), ("market_rates", "rate"), ("market_rates", "apr")):
        rates = [Decimal(v) for v in column(out, source, name)]
        assert all(Decimal("0.5") <= r < 20 for r in rates), f"{source}.{name} must be percent"
    assert all(120 <= int(t) <= 480 for t in loans["term_months"])
    for name in ("original_amount", "original_value"):
        assert all(Decimal(v) > 0 for v in loans[name])
    assert all(300 <= int(c) <= 850 for c in loans["credit_score"].drop_nulls())
    assert all(Decimal(v) > 0 for v in column(out, "hpi", "index_value"))
    assert all(0 <= Decimal(v) <= 100 for v in column(out, "census_tracts", "minority_pct"))

    assert all(re.fullmatch(r"\d{5}", z) for z in borrowers["mailing_zip"].drop_nulls())
    assert all(re.fullmatch(r"\d{5}", z) for z in loans["property_zip"].drop_nulls())
    assert any(z.startswith("0") for z in loans["property_zip"].drop_nulls()), "RI/VT/MA ZIPs"
    assert all(re.fullmatch(r"\d{5}", c) for c in loans["property_cbsa"].drop_nulls())
    assert all(re.fullmatch(r"\d{11}", t) for t in loans["property_census_tract"].drop_nulls())
    phones = (
        borrowers["phone"].drop_nulls().to_list()
        + column(out, "dnc_numbers", "phone")
        + [p for p in column(out, "loan_officers", "phone") if p]
    )
    assert all(E164.match(p) and p.startswith("+1555") and len(p) == 12 for p in phones)
    emails = borrowers["email"].drop_nulls().to_list() + column(out, "loan_officers", "email")
    assert all(EMAIL.match(e) and e.endswith("@example.com") for e in emails)
    states = set(loans["property_state"]) | set(borrowers["mailing_state"].drop_nulls())
    assert {"CA", "TX", "FL", "RI", "NY", "VT", "AZ", "WA"} <= states
    assert all(re.fullmatch(r"[A-Z]{2}", s) for s in states)
    assert all(
        re.fullmatch(r"[0-9a-f]{64}", h)
        for h in column(out, "template_approvals", "template_sha256")
    )


def test_funding_fields_follow_the_status(zone):
    loans = read(zone[0], "loans").to_dicts()
    for loan in loans:
        assert loan["status_date"] is not None
        if loan["status"] in UNFUNDED:
            for name in ("close_date", "first_payment_date", "current_upb", "servicing_status"):
                assert loan[name] is None, (loan["loan_id"], name)
        else:
            assert loan["close_date"] and loan["first_payment_date"] and loan["servicing_status"]
            assert loan["first_payment_date"] > loan["close_date"]
        if loan["status"] == "funded":
            assert loan["status_date"] == loan["close_date"]
        if loan["next_rate_reset_date"]:
            assert loan["rate_type"] == "arm" and loan["next_rate_reset_date"] > AS_OF.isoformat()
        if loan["has_pmi"] == "true":
            assert Decimal(loan["original_amount"]) > Decimal("0.8") * Decimal(
                loan["original_value"]
            )


def test_milestones_end_at_the_loan_status_on_its_date(zone):
    loans = {row["loan_id"]: row for row in read(zone[0], "loans").to_dicts()}
    events = read(zone[0], "loan_events").sort("loan_id", "occurred_at")
    for (loan_id,), history in events.group_by("loan_id", maintain_order=True):
        loan = loans[loan_id]
        milestones = history["milestone"].to_list()
        assert milestones[0] == "application", loan_id
        assert milestones[-1] == loan["status"], loan_id
        assert history["occurred_at"][-1][:10] == loan["status_date"], loan_id
        if "funded" in milestones:
            assert history.filter(milestone="funded")["occurred_at"][0][:10] == loan["close_date"]


def test_nothing_is_dated_after_the_as_of(zone):
    out = zone[0]
    for source, name in (
        ("loan_events", "occurred_at"),
        ("engagement_events", "occurred_at"),
        ("contact_preferences", "recorded_at"),
        ("template_approvals", "reviewed_at"),
    ):
        assert all(v <= END_OF_AS_OF for v in column(out, source, name)), f"{source}.{name}"
    for source, name in (
        ("loans", "status_date"),
        ("loans", "close_date"),
        ("conversions", "converted_at"),
        ("dnc_numbers", "added_at"),
        ("market_rates", "published_on"),
        ("hpi", "published_on"),
    ):
        values = [v for v in column(out, source, name) if v]
        assert max(values) <= AS_OF.isoformat(), f"{source}.{name}"
    window_start = (AS_OF - timedelta(days=120)).isoformat()
    assert min(column(out, "engagement_events", "occurred_at")) >= window_start


def test_market_rates_rise_and_fall_and_are_fresh(zone):
    rates = read(zone[0], "market_rates")
    for product in ("fixed_30", "fixed_15"):
        series = rates.filter(product=product).sort("rate_date")
        days = [date.fromisoformat(d) for d in series["rate_date"]]
        assert all((b - a).days == 7 for a, b in itertools.pairwise(days)), "weekly"
        assert AS_OF - timedelta(days=7) < days[-1] <= AS_OF
        assert days[0] <= AS_OF - timedelta(days=7 * 365)
        assert series["published_on"].to_list() == series["rate_date"].to_list()
        spread = [Decimal(a) - Decimal(r) for a, r in zip(series["apr"], series["rate"])]
        assert all(Decimal("0.1") <= s <= Decimal("0.2") for s in spread)
    thirty = [Decimal(r) for r in rates.filter(product="fixed_30")["rate"]]
    assert min(thirty) < Decimal("3.2") and max(thirty) > Decimal("7.0")
    assert Decimal("5.5") < thirty[-1] < Decimal("7.0")


def test_hpi_has_every_level_a_publication_lag_and_gaps(zone):
    hpi = read(zone[0], "hpi")
    assert set(hpi["geo_level"]) == {"cbsa", "state", "national"}
    for row in hpi.iter_rows(named=True):
        start, published = (
            date.fromisoformat(row["period_start"]),
            date.fromisoformat(row["published_on"]),
        )
        assert start.day == 1
        assert published >= start + timedelta(days=80), "about two months after the period ends"
    states = set(hpi.filter(geo_level="state")["geo_code"])
    assert "VT" not in states and {"CA", "TX"} <= states
    loan_cbsas = set(column(zone[0], "loans", "property_cbsa")) - {None}
    assert loan_cbsas - set(hpi.filter(geo_level="cbsa")["geo_code"]), "some CBSAs lack a series"


def test_template_approvals_hash_every_template_file(zone, templates_dir):
    approvals = read(zone[0], "template_approvals")
    expected = {
        "_partials/signature.j2": hashlib.sha256(
            b"{{ officer_name }}, NMLS {{ nmls }}\r\n"
        ).hexdigest(),
        "refinance/refi_rate_alert.email.j2": hashlib.sha256(
            "Rates fell — {{ apr }}\n".encode()
        ).hexdigest(),
    }
    assert dict(zip(approvals["template_id"], approvals["template_sha256"])) == expected
    assert set(approvals["status"]) == {"approved"}
    assert all(approvals["reviewed_by"])
    assert all(v < f"{AS_OF.isoformat()}T00:00:00Z" for v in approvals["reviewed_at"])


def test_without_templates_the_approvals_file_has_a_header_only(tmp_path):
    write_sample(tmp_path, loans=80, as_of=AS_OF, templates_dir=tmp_path / "no_such_folder")
    assert (tmp_path / "template_approvals.csv").read_text() == (
        "template_id,template_sha256,status,reviewed_by,reviewed_at\n"
    )


# ------------------------------------------------------------------------ planted edge cases

# Worked out by hand for D = 2026-11-27 (2026 is not a leap year).
PLANTED_CLOSE_DATES = {
    "L-welcome-close-today": "2026-11-27",
    "L-welcome-6d-edge": "2026-11-21",
    "L-welcome-7d-edge": "2026-11-20",
    "L-ins-funded-2d-after-ctc": "2026-11-25",
    "L-heloc-24m-edge": "2024-11-27",
    "L-heloc-23m-edge": "2024-11-28",
    "L-heloc-36m-edge": "2023-11-27",
    "L-heloc-36m-last-day": "2023-10-28",
    "L-heloc-37m-edge": "2023-10-27",
    "L-refi-6m-edge": "2026-05-27",
    "L-refi-5m-edge": "2026-05-28",
    "L-fp-60d-edge": "2026-09-28",
    "L-fp-59d-edge": "2026-09-29",
    "L-fp-90d-edge": "2026-08-29",
    "L-fp-91d-edge": "2026-08-28",
    "L-invest-12m-edge": "2025-11-27",
    "L-invest-11m-edge": "2025-11-28",
    "L-invest-24m-edge": "2024-11-27",
    "L-invest-25m-edge": "2024-10-27",
}
PLANTED_CLEAR_TO_CLOSE = {
    "L-ins-ctc-today": "2026-11-27T23:59:59Z",
    "L-ins-ctc-1d": "2026-11-26T15:00:00Z",
    "L-ins-ctc-6d-edge": "2026-11-21T00:00:00Z",
    "L-ins-ctc-7d-edge": "2026-11-20T23:59:59Z",
    "L-ins-funded-2d-after-ctc": "2026-11-22T14:00:00Z",
    "L-ins-withdrawn-after-ctc": "2026-11-23T16:00:00Z",
}
PLANTED_CONVERSIONS = {
    ("B-heloc-30m-converted-365d-ago", "heloc"): "2025-11-27",
    ("B-heloc-30m-converted-364d-ago", "heloc"): "2025-11-28",
    ("B-ins-converted-today", "insurance"): "2026-11-27",
    ("B-welcome-4d-insured", "insurance"): "2026-10-28",
    ("B-refi-converted-30d-ago", "refinance"): "2026-10-28",
    ("B-invest-20m-converted-yesterday", "investment_property"): "2026-11-26",
}


def test_planted_dates_are_exact(zone):
    out = zone[0]
    loans = {row["loan_id"]: row for row in read(out, "loans").to_dicts()}
    for loan_id, close in PLANTED_CLOSE_DATES.items():
        assert loans[loan_id]["close_date"] == close, loan_id
    events = read(out, "loan_events").filter(milestone="clear_to_close")
    ctc = dict(zip(events["loan_id"], events["occurred_at"]))
    for loan_id, occurred_at in PLANTED_CLEAR_TO_CLOSE.items():
        assert ctc[loan_id] == occurred_at, loan_id
    # A clear_to_close loan with no history: its status_date stands in for the milestone.
    assert "L-ins-ctc-3d-no-events" not in set(column(out, "loan_events", "loan_id"))
    no_events = loans["L-ins-ctc-3d-no-events"]
    assert (no_events["status"], no_events["status_date"]) == ("clear_to_close", "2026-11-24")
    withdrawn = loans["L-ins-withdrawn-after-ctc"]
    assert (withdrawn["status"], withdrawn["status_date"]) == ("withdrawn", "2026-11-26")
    conversions = read(out, "conversions")
    found = {
        (b, p): d for b, p, d in conversions.select("borrower_id", "product", "converted_at").rows()
    }
    for key, converted_at in PLANTED_CONVERSIONS.items():
        assert found[key] == converted_at, key


def test_planted_spreads_and_amounts_are_exact(zone):
    out = zone[0]
    loans = {row["loan_id"]: row for row in read(out, "loans").to_dicts()}
    rates = read(out, "market_rates").sort("rate_date")
    latest = {p: Decimal(rates.filter(product=p)["rate"][-1]) for p in ("fixed_30", "fixed_15")}

    def spread(loan_id: str, product: str = "fixed_30") -> Decimal:
        return Decimal(loans[loan_id]["note_rate"]) - latest[product]

    assert spread("L-refi-75bps-edge") == Decimal("0.75")
    assert spread("L-refi-74bps") == Decimal("0.74")
    assert spread("L-refi-15yr-vs-fixed-15", "fixed_15") == Decimal("0.75")
    assert loans["L-refi-15yr-vs-fixed-15"]["term_months"] == "180"
    for loan_id, upb in (
        ("L-refi-50bps-400k-edge", "400000.00"),
        ("L-refi-50bps-below-400k", "399999.99"),
        ("L-refi-50bps-450k-stop-reply", "450000.00"),
    ):
        assert spread(loan_id) == Decimal("0.5") and loans[loan_id]["current_upb"] == upb
    assert loans["L-fp-70d-exactly-500k"]["original_amount"] == "500000.00"
    assert loans["L-fp-65d-500k-and-100"]["original_amount"] == "500100.00"
    assert [
        loans[f"L-invest-credit-{c}"]["credit_score"] for c in ("700-edge", "699", "unknown")
    ] == ["700", "699", None]
    incomes = dict(zip(*[column(out, "borrowers", c) for c in ("borrower_id", "annual_income")]))
    assert incomes["B-invest-income-150k-edge"] == "150000.00"
    assert incomes["B-invest-income-149999"] == "149999.99"
    stop = read(out, "engagement_events").filter(borrower_id="B-refi-50bps-450k-stop-reply")
    assert stop.select("event_type", "detail", "occurred_at").rows() == [
        ("sms_reply", "Stop.", "2026-11-17T17:05:00Z")
    ]


# Each campaign's own planted cases, by what their names claim.
PLANTED_IN = {
    "insurance": {
        "ins-ctc-today",
        "ins-ctc-1d",
        "ins-ctc-3d-no-events",
        "ins-ctc-5d-rhode-island",
        "ins-ctc-6d-edge",
        "ins-funded-2d-after-ctc",
    },
    "post_close_welcome": {
        "welcome-close-today",
        "welcome-1d-no-officer",
        "welcome-2d-second-home",
        "welcome-3d-cash-out-refi",
        "welcome-4d-insured",
        "welcome-5d-rhode-island",
        "welcome-6d-edge",
        "ins-funded-2d-after-ctc",
    },
    "heloc": {
        "heloc-24m-edge",
        "heloc-36m-edge",
        "heloc-36m-last-day",
        "heloc-30m-converted-365d-ago",
        "heloc-33m-engaged",
        "heloc-27m-vermont",
    },
    "refinance": {
        "refi-75bps-edge",
        "refi-50bps-400k-edge",
        "refi-50bps-450k-stop-reply",
        "refi-15yr-vs-fixed-15",
        "refi-arm-into-fixed-30",
        "refi-6m-edge",
        "refi-two-loans-rental",
        "refi-tie-a",
    },
    "financial_planning": {
        "fp-60d-edge",
        "fp-90d-edge",
        "fp-75d-investment-occupancy",
        "fp-65d-500k-and-100",
        "fp-80d-california-partner-opt-in",
        "fp-85d-california-no-partner-consent",
        "fp-72d-vermont-partner-opt-out",
    },
    "investment_property": {
        "invest-12m-edge",
        "invest-24m-edge",
        "invest-income-150k-edge",
        "invest-credit-700-edge",
        "invest-16m-texas",
        "invest-21m-rhode-island",
    },
}
PLANTED_OUT = {
    "insurance": {
        "ins-ctc-7d-edge",
        "ins-refi-ctc-2d",
        "ins-withdrawn-after-ctc",
        "ins-converted-today",
    },
    "post_close_welcome": {"welcome-7d-edge"},
    "heloc": {
        "heloc-23m-edge",
        "heloc-37m-edge",
        "heloc-30m-converted-364d-ago",
        "heloc-28m-delinquent",
        "heloc-28m-second-home",
    },
    "refinance": {
        "refi-74bps",
        "refi-50bps-below-400k",
        "refi-5m-edge",
        "refi-two-loans-home",
        "refi-tie-b",
        "refi-converted-30d-ago",
        "refi-forbearance",
    },
    "financial_planning": {"fp-59d-edge", "fp-91d-edge", "fp-70d-exactly-500k", "fp-68d-converted"},
    "investment_property": {
        "invest-11m-edge",
        "invest-25m-edge",
        "invest-income-149999",
        "invest-credit-699",
        "invest-credit-unknown",
        "invest-20m-converted-yesterday",
    },
}
CONVERTED = {
    "insurance": {"ins-converted-today"},
    "heloc": {"heloc-30m-converted-364d-ago"},
    "refinance": {"refi-converted-30d-ago"},
    "financial_planning": {"fp-68d-converted"},
    "investment_property": {"invest-20m-converted-yesterday"},
}


# 2027-03-31 and 2028-02-29 put D at a month's end, where "D - n months" clamps.
@pytest.mark.parametrize("as_of", [AS_OF, date(2027, 3, 31), date(2028, 2, 29)])
def test_every_campaign_has_an_audience_and_each_planted_case_lands_as_named(
    as_of, templates_dir, tmp_path
):
    write_sample(tmp_path, loans=LOANS, as_of=as_of, templates_dir=templates_dir)
    expected = oracle(tmp_path, as_of)  # tests/support: RULES.md worked out independently
    for campaign, members in expected.audiences.items():
        assert len(members) >= 5, campaign
        chosen = set(members.values())
        assert {f"L-{case}" for case in PLANTED_IN[campaign]} <= chosen, campaign
        assert not {f"L-{case}" for case in PLANTED_OUT[campaign]} & chosen, campaign
        assert expected.excluded[campaign] == {f"B-{case}" for case in CONVERTED.get(campaign, ())}
    # One row per borrower: the larger balance, and on a tie the smaller loan_id.
    assert expected.audiences["refinance"]["B-refi-two-loans"] == "L-refi-two-loans-rental"
    assert expected.audiences["refinance"]["B-refi-tie"] == "L-refi-tie-a"
    assert expected.features["L-heloc-27m-vermont"]["value_method"] == "national"


# ------------------------------------------------------------------------------- realism


def test_a_default_size_book_looks_like_a_lender(templates_dir, tmp_path):
    counts = write_sample(tmp_path, loans=2000, as_of=AS_OF, templates_dir=templates_dir)
    loans = read(tmp_path, "loans")
    borrowers = read(tmp_path, "borrowers")
    assert 1.2 < 2000 / borrowers.height < 1.4
    assert max(loans["borrower_id"].value_counts()["count"]) >= 3
    assert counts["loan_officers"] == round(2000 / 150)
    assert set(loans["status"]) == STATUSES
    assert loans.filter(status="funded").height > 0.7 * 2000
    assert set(loans["servicing_status"].drop_nulls()) == {
        "current",
        "delinquent_30",
        "delinquent_60_plus",
        "forbearance",
        "bankruptcy",
        "foreclosure",
    }
    funded = loans.filter(status="funded")
    assert 0 < funded["current_upb"].drop_nulls().len() < 0.2 * funded.height
    assert funded.filter(rate_type="arm")["next_rate_reset_date"].null_count() == 0
    assert loans.filter(has_pmi="true").height > 0
    assert funded["close_date"].min() >= (AS_OF - timedelta(days=7 * 366)).isoformat()
    assert borrowers["timezone"].null_count() not in (0, borrowers.height)

    events = read(tmp_path, "engagement_events")
    assert 2.5 < events.height / 2000 < 3.5
    replies = events.filter(event_type="sms_reply")["detail"]
    assert {"STOP", "Stop."} <= set(replies) and len(set(replies)) > 5
    assert {"email_bounce", "unsubscribe"} <= set(events["event_type"])

    preferences = read(tmp_path, "contact_preferences").join(
        borrowers.select("borrower_id", "mailing_state"), on="borrower_id"
    )
    sharing = preferences.filter(channel="partner_sharing")
    glba = sharing.filter(pl.col("mailing_state").is_in(["CA", "VT"]))
    assert set(glba["action"]) == {"opt_in", "opt_out"}
    glba_borrowers = borrowers.filter(pl.col("mailing_state").is_in(["CA", "VT"]))["borrower_id"]
    assert set(glba_borrowers) - set(glba["borrower_id"]), "some CA/VT borrowers never opted in"
    assert set(read(tmp_path, "dnc_numbers")["list_name"]) == {"national", "internal"}

    conversions = read(tmp_path, "conversions")
    recent = conversions.filter(pl.col("converted_at") > (AS_OF - timedelta(days=365)).isoformat())
    assert set(recent["product"]) == {
        "insurance",
        "heloc",
        "refinance",
        "financial_planning",
        "investment_property",
    }
    assert conversions["revenue"].drop_nulls().len() > 0

    features = oracle(tmp_path, AS_OF).features.values()
    assert {f["value_method"] for f in features if f.get("value_method")} >= {
        "cbsa",
        "state",
        "national",
    }


def test_a_book_smaller_than_the_planted_cases_stays_consistent(tmp_path):
    counts = write_sample(tmp_path, loans=10, as_of=AS_OF, templates_dir=tmp_path / "none")
    assert counts["loans"] == 10
    borrowers = set(column(tmp_path, "borrowers", "borrower_id"))
    assert set(column(tmp_path, "loans", "borrower_id")) == borrowers
    for source in ("engagement_events", "contact_preferences", "conversions"):
        assert set(column(tmp_path, source, "borrower_id")) <= borrowers
    empty = write_sample(tmp_path / "empty", loans=0, as_of=AS_OF, templates_dir=tmp_path / "none")
    assert empty["loans"] == 0 and empty["borrowers"] == 0 and empty["market_rates"] > 0


def test_an_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        write_sample(tmp_path, loans=10, fmt="xlsx")


# ----------------------------------------------------------------------- fair-lending mix


def test_tracts_follow_their_countys_census_mix():
    pool = build_tracts(np.random.default_rng(1), 45_000)  # 300 tracts a market
    # 2020 Census, share of residents not non-Hispanic white: Miami-Dade 87 %, El Paso 88 %,
    # Los Angeles 74 %, Chittenden (Burlington) 14 %, Spokane 18 %
    census = {"miami": 87, "el_paso": 88, "los_angeles": 74, "burlington": 14, "spokane": 18}
    for market, share in census.items():
        first = pool.first[MARKET_INDEX[market]]
        tracts = pool.minority_pct[first : first + pool.size]
        assert abs(tracts.mean() - share) < 8, market  # about 5 standard errors
        # segregated: tracts spread far from the county's share (the Beta's sd is 18 to 23)
        assert tracts.std() > 12, market


@pytest.mark.parametrize("gap_pp", [None, 0.0])
def test_loans_in_majority_minority_tracts_carry_higher_rates(gap_pp):
    """TRACT_RATE_GAP_PP: 0.80 pp from an all-white to an all-minority tract by default, so
    0.008 pp per point of minority share, on top of the survey rate in force at close; `xsell
    sample --tract-rate-gap 0` plants none. Worked out from the frames: the gap in (note rate −
    survey rate) between the sides is gap/100 × the gap in their mean minority share."""
    gap = {} if gap_pp is None else {"tract_rate_gap_pp": gap_pp}
    frames = build_landing_zone(2000, 7, AS_OF, 3.0, Path("/nonexistent"), **gap)
    survey = frames["market_rates"].filter(product="fixed_30").sort("rate_date")
    loans = (
        frames["loans"]
        .filter(
            pl.col("loan_id").str.contains(r"^L\d+$"),  # the random book, not planted cases
            status="funded", rate_type="fixed", term_months=360,
        )
        .join(frames["census_tracts"], left_on="property_census_tract", right_on="census_tract")
        .sort("close_date")
        .join_asof(survey, left_on="close_date", right_on="rate_date")
        .with_columns(
            above=(pl.col("note_rate") - pl.col("rate")).cast(pl.Float64),
            majority_minority=pl.col("minority_pct") >= 50,
        )
        .group_by("majority_minority")
        .agg(pl.len(), pl.col("above").mean(), pl.col("minority_pct").cast(pl.Float64).mean())
    )
    sides = {r["majority_minority"]: r for r in loans.to_dicts()}
    assert min(r["len"] for r in sides.values()) > 300
    per_point = 0.008 if gap_pp is None else gap_pp / 100
    expected = per_point * (sides[True]["minority_pct"] - sides[False]["minority_pct"])
    observed = sides[True]["above"] - sides[False]["above"]
    assert expected > 0.3 if gap_pp is None else expected == 0
    assert abs(observed - expected) < 0.07  # about 3.5 standard errors of the difference
