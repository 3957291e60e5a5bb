"""What a night's outreach reads from the warehouse: audiences, enrollments, history, consent.

It reads in two passes. `load_night_state` reads what decides who is enrolled and which steps
are due (audiences, enrollments, the audit log's progress, conversions); `load_details` then
reads the rows about people and loans (borrowers, loans, features, consent, DNC) for only the
borrowers with a step due tonight and those the officers' call list may take. On a quiet night
most open enrollments have nothing due, and every row read is memory held while the night's
messages are decided.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from pipelines.lib.bulk import insert_rows
from pipelines.lib.campaigns import Campaign
from pipelines.lib.enrollment import DONE, DueStep, Enrollment, StepRecord

SCHEMA = """
create schema if not exists outreach;
create table if not exists outreach.enrollments (
    as_of_date date, enrollment_id varchar, campaign_id varchar, borrower_id varchar,
    loan_id varchar, enrolled_on date, control_group boolean, rate_spread_bps decimal(18, 8),
    config_sha256 varchar, rule_values varchar);
create table if not exists outreach.messages (
    seq bigint, message_id varchar, as_of_date date, run_id varchar, code_version varchar,
    enrollment_id varchar, campaign_id varchar, step integer, channel varchar,
    borrower_id varchar, loan_id varchar, template_id varchar, template_sha256 varchar,
    template_files varchar, config_sha256 varchar, content_sha256 varchar,
    disclosures varchar, scheduled_for varchar, decision varchar, reason varchar,
    rules_evaluated varchar, rule_values varchar, consent_rows varchar, timezone varchar,
    timezone_method varchar, prev_hash varchar, record_hash varchar);
create table if not exists outreach.lo_alerts (
    as_of_date date, send_day date, loan_officer_id varchar, borrower_id varchar,
    loan_id varchar, engagement_score decimal(12, 2), campaigns varchar, decision varchar,
    reason varchar);
create table if not exists outreach.nights (
    as_of_date date, run_id varchar, considered bigint, sent bigint, held_campaigns varchar);
-- the audit chain's head after the night, and the sha256 of its send files' manifest
alter table outreach.nights add column if not exists chain_records bigint;
alter table outreach.nights add column if not exists chain_head varchar;
alter table outreach.nights add column if not exists manifest_sha256 varchar;
-- the digest of the chain's first chain_records records, as the night's check verified them
alter table outreach.nights add column if not exists chain_digest hugeint;
create table if not exists outreach.approvals (
    campaign_id varchar, as_of_date date, guard varchar, approved_by varchar,
    approved_at varchar);
"""


# the decisions that finish a step (enrollment.steps_done), as SQL
DONE_SQL = ", ".join(f"'{d}'" for d in sorted(DONE))
# apply_frequency_cap counts the sends of the 30 days before a send day: a send of an earlier
# night can count tonight only if its night is within CAP_DAYS of tonight
CAP_DAYS = 30


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


@dataclass
class NightState:
    as_of: date
    audiences: dict[str, list[dict]]
    enrollments: list[Enrollment]
    rule_values: dict[str, str]  # enrollment_id -> the audience row's rule values (JSON)
    records: dict[str, list[StepRecord]]
    features: dict[str, dict]  # loan_id -> tonight's loan_features row
    loans: dict[str, dict]
    borrowers: dict[str, dict]
    officers: dict[str, dict]
    conversions: dict[str, list[tuple[str, date]]]
    sends_by_borrower: dict[str, list[date]]
    approved_templates: set[tuple[str, str]]
    last_lo_alert: dict[str, date]
    preferences: list[dict] = field(default_factory=list)
    consent_events: list[dict] = field(default_factory=list)
    dnc_numbers: list[dict] = field(default_factory=list)
    approved_holds: set[tuple[str, str]] = field(default_factory=set)  # (campaign, guard)
    nightly_sends: dict[str, dict[date, int]] = field(default_factory=dict)
    nights_run: list[date] = field(default_factory=list)  # earlier nights whose outreach ran
    # borrower_id and servicing_status of every loan of the borrowers read by load_details (the
    # gate's servicing facts); None when `loans` holds every loan of the night's borrowers
    loan_servicing: list[dict] | None = None

    def servicing_rows(self) -> Iterable[dict]:
        return self.loans.values() if self.loan_servicing is None else self.loan_servicing

    def drop_consent_rows(self) -> None:
        """The consent log, replies and DNC rows are read once, into the gate's facts."""
        self.preferences, self.consent_events, self.dnc_numbers = [], [], []


def outreach_nights(con: duckdb.DuckDBPyConnection) -> list[date]:
    ensure_schema(con)
    return [r[0] for r in con.execute(
        "select as_of_date from outreach.nights order by 1").fetchall()]


def _enrollments(con) -> tuple[list[Enrollment], dict[str, str]]:
    # Every enrollment ever made is read each night, so each row goes straight from its tuple
    # to an Enrollment (in Enrollment's field order), with no dict between.
    found, values = [], {}
    for *fields, rule_values in con.execute("""
            select enrollment_id, campaign_id, borrower_id, loan_id, enrolled_on, control_group,
                   rate_spread_bps, config_sha256, rule_values
            from outreach.enrollments order by enrolled_on, enrollment_id""").fetchall():
        found.append(Enrollment(*fields))
        values[fields[0]] = rule_values
    return found, values


# what the night reads of an audience row, besides the campaign's rule features (json_values)
AUDIENCE_COLUMNS = ("borrower_id", "loan_id", "rate_spread_bps")


def _audience(con, campaign: Campaign, as_of: date) -> list[dict]:
    if not campaign.enabled:
        return []
    table = f"marts.audience_{campaign.id}"
    have = {r[0] for r in con.execute(f"describe {table}").fetchall()}
    # A rule feature the audience lacks reads as null (row.get), as it would from `select *`.
    wanted = [c for c in (*AUDIENCE_COLUMNS, *sorted(campaign.features() - set(AUDIENCE_COLUMNS)))
              if c in have]
    columns = ", ".join(f'"{c}"' for c in wanted)
    return rows(con, f"select {columns} from {table} where as_of_date = ? order by borrower_id",
                [as_of])


def load_night_state(con: duckdb.DuckDBPyConnection, as_of: date,
                     campaigns: dict[str, Campaign]) -> NightState:
    """The first pass: who is in tonight's audiences, every enrollment and its progress. The
    borrowers', loans' and consent rows are left for `load_details`."""
    ensure_schema(con)
    audiences = {cid: _audience(con, c, as_of) for cid, c in campaigns.items()}
    enrollments, rule_values = _enrollments(con)
    # The audit log is read as the night needs it, so its cost follows the open enrollments
    # rather than every record ever kept: a step's first night with a final decision (what
    # steps_done reads; a held or deferred message is reconsidered, so it has many records),
    # the sends the frequency cap can still count, and each campaign's sends per night.
    records: dict[str, list[StepRecord]] = defaultdict(list)
    for eid, step, night, decision in con.execute(f"""
            select enrollment_id, step, min(as_of_date), arg_min(decision, as_of_date)
            from outreach.messages where as_of_date < ? and decision in ({DONE_SQL})
            group by enrollment_id, step order by enrollment_id, step""", [as_of]).fetchall():
        records[eid].append(StepRecord(eid, step, night, decision))
    sends: dict[str, list[date]] = defaultdict(list)
    for bid, night in con.execute(
            "select borrower_id, as_of_date from outreach.messages where decision = 'send' "
            "and as_of_date < ? and as_of_date > ? order by seq",
            [as_of, as_of - timedelta(days=CAP_DAYS)]).fetchall():
        sends[bid].append(night + timedelta(days=1))
    nightly: dict[str, dict[date, int]] = defaultdict(dict)
    for cid, night, n in con.execute(
            "select campaign_id, as_of_date, count(*) from outreach.messages "
            "where decision = 'send' and as_of_date < ? group by all", [as_of]).fetchall():
        nightly[cid][night] = n

    # The borrowers this night can touch: tonight's audiences and every open enrollment,
    # gathered in DuckDB (sending the ids back to it from Python took 0.24 s at 300,000 loans).
    audience_tables = [f"marts.audience_{cid}" for cid, c in sorted(campaigns.items())
                       if c.enabled]
    con.execute("create or replace temp table night_borrowers as " + " union ".join([
        "select borrower_id from outreach.enrollments",
        *(f"select borrower_id from {t} where as_of_date = ?" for t in audience_tables)]),
        [as_of] * len(audience_tables))
    officers = {r["loan_officer_id"]: r for r in rows(
        con, "select * from staging.stg_raw__loan_officers")}
    conversions: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for r in rows(con, f"select borrower_id, product, converted_at from "
                       f"staging.stg_raw__conversions where converted_at <= ? and {IN_NIGHT}",
                  [as_of]):
        conversions[r["borrower_id"]].append((r["product"], r["converted_at"]))
    # template approvals known by the end of the night; for a template and hash the latest
    # review wins
    approved = {(r["template_id"], r["template_sha256"]) for r in rows(con, """
        select template_id, template_sha256, status from (
            select *, row_number() over (partition by template_id, template_sha256
                                         order by reviewed_at desc, status) as latest
            from staging.stg_raw__template_approvals where reviewed_at < ?)
        where latest = 1 and status = 'approved'""", [end_of(as_of).replace(tzinfo=None)])}
    last_alert = {r["borrower_id"]: r["send_day"] for r in rows(con, """
        select borrower_id, max(send_day) as send_day from outreach.lo_alerts
        where decision = 'send' and as_of_date < ? group by borrower_id""", [as_of])}
    # `xsell approve` releases a held batch for the night after the one it was held on
    holds = {(r["campaign_id"], r["guard"]) for r in rows(
        con, "select campaign_id, guard from outreach.approvals where as_of_date between ? "
             "and ?", [as_of - timedelta(days=1), as_of])}
    return NightState(
        as_of=as_of, audiences=audiences, enrollments=enrollments, rule_values=rule_values,
        records=records, features={}, loans={}, borrowers={},
        officers=officers, conversions=conversions, sends_by_borrower=sends,
        approved_templates=approved, last_lo_alert=last_alert,
        approved_holds=holds,
        nightly_sends=dict(nightly),
        nights_run=[n for n in outreach_nights(con) if n < as_of],
        loan_servicing=[],
    )


IN_NIGHT = "borrower_id in (select borrower_id from night_borrowers)"


def first_memberships(state: NightState) -> dict[str, str]:
    """Each audience borrower's loan as the officers' call list takes it: the loan of their row
    in the first audience by campaign id (NightPlanner._lo_alerts and load_details both use
    it, so the bar is read against the loan the list decides on)."""
    first: dict[str, str] = {}
    for cid in sorted(state.audiences):
        for row in state.audiences[cid]:
            first.setdefault(row["borrower_id"], row["loan_id"])
    return first


def load_details(con: duckdb.DuckDBPyConnection, state: NightState, due: Iterable[DueStep],
                 lo_alert_min_score: Decimal) -> None:
    """The second pass: borrowers, loans, features and consent rows of the borrowers with a
    step due, and of the audience borrowers whose engagement score reaches the officers' bar
    (the only others the night decides anything for). A row is read as the first pass's
    `night_borrowers` bounds it, so each one read is the row a read of every night borrower
    would have held."""
    borrowers = {d.enrollment.borrower_id for d in due}
    loans = {d.enrollment.loan_id for d in due}
    first = first_memberships(state)
    con.execute("create or replace temp table night_lo_loans (loan_id varchar)")
    insert_rows(con, "night_lo_loans", ["loan_id"], [[v] for v in sorted(set(first.values()))])
    scores = dict(con.execute(f"""
        select loan_id, engagement_score from marts.loan_features
        where as_of_date = ? and loan_id in (select loan_id from night_lo_loans)
        and {IN_NIGHT}""", [state.as_of]).fetchall())
    for bid, loan_id in first.items():
        # the bar as _lo_alerts applies it: a missing feature row or score counts as 0
        if not (scores.get(loan_id) or Decimal(0)) < lo_alert_min_score:
            borrowers.add(bid)
            loans.add(loan_id)
    con.execute("create or replace temp table night_detail_borrowers (borrower_id varchar)")
    insert_rows(con, "night_detail_borrowers", ["borrower_id"], [[b] for b in sorted(borrowers)])
    con.execute("create or replace temp table night_detail_loans (loan_id varchar)")
    insert_rows(con, "night_detail_loans", ["loan_id"], [[v] for v in sorted(loans)])
    wanted = "borrower_id in (select borrower_id from night_detail_borrowers)"
    wanted_loan = f"loan_id in (select loan_id from night_detail_loans) and {IN_NIGHT}"
    state.loans = {r["loan_id"]: r for r in rows(
        con, f"select * from staging.stg_raw__loans where {wanted_loan}")}
    state.features = {r["loan_id"]: r for r in rows(
        con, f"select * from marts.loan_features where as_of_date = ? and {wanted_loan}",
        [state.as_of])}
    state.borrowers = {r["borrower_id"]: r for r in rows(
        con, f"select * from staging.stg_raw__borrowers where {wanted}")}
    # every loan of those borrowers, one row a loan as the loans dict kept them (by loan_id)
    state.loan_servicing = list({r["loan_id"]: {
        "borrower_id": r["borrower_id"], "servicing_status": r["servicing_status"]}
        for r in rows(con, f"select loan_id, borrower_id, servicing_status "
                           f"from staging.stg_raw__loans where {wanted}")}.values())
    # consent reads these columns only (consent.py); the events' other columns are derived
    state.preferences = rows(con, f"select borrower_id, channel, action, recorded_at "
                                  f"from staging.stg_raw__contact_preferences where {wanted}")
    state.consent_events = rows(con, f"""
        select event_id, borrower_id, event_type, occurred_at, detail
        from staging.stg_raw__engagement_events
        where event_type in ('sms_reply', 'email_bounce', 'unsubscribe') and {wanted}""")
    state.dnc_numbers = rows(con, f"""
        select * from staging.stg_raw__dnc_numbers where phone in (
            select phone from staging.stg_raw__borrowers where {wanted})""")


def json_values(row: dict[str, Any], names: list[str]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, (date, datetime)):
            return v.isoformat()
        return v
    return json.dumps({n: plain(row.get(n)) for n in names}, sort_keys=True)
