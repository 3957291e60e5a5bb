"""The export checks on recorded sends fire on the sends that break them, and on no others.

A DuckDB file holds the audit log and the staging tables the checks read; the expected
problems are worked out by hand from COMPLIANCE.md (consent) and calling_windows.yaml.
"""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from pipelines.lib.outreach.checks import (
    calls_outside_window,
    missing_disclosures,
    sends_to_opted_out,
)
from pipelines.lib.outreach.state import ensure_schema

NIGHT = date(2026, 11, 27)
NEW_YORK = json.dumps(["America/New_York"])


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(con)
    con.execute("""
        create schema staging;
        create table staging.stg_raw__borrowers (borrower_id varchar, mailing_state varchar);
        create table staging.stg_raw__contact_preferences (
            borrower_id varchar, channel varchar, action varchar, recorded_at timestamp,
            source varchar);
        create table staging.stg_raw__engagement_events (
            event_id varchar, borrower_id varchar, campaign_id varchar, event_type varchar,
            occurred_at timestamp, occurred_on date, detail varchar);
        insert into staging.stg_raw__borrowers values ('B1', 'NY'), ('B2', 'FL'), ('B3', 'NY');
        insert into staging.stg_raw__contact_preferences values
            ('B1', 'email', 'opt_out', '2026-11-01 12:00', 'web'),
            ('B3', 'sms', 'opt_in', '2026-11-01 12:00', 'web');
        insert into staging.stg_raw__engagement_events values
            ('E1', 'B2', 'heloc', 'sms_reply', '2026-11-02 12:00', '2026-11-02', 'Stop!'),
            ('E2', 'B3', 'heloc', 'sms_reply', '2026-11-02 12:00', '2026-11-02', 'thanks');
    """)
    yield con
    con.close()


def record(con, seq: int, message_id: str, borrower: str, channel: str, *,
           night: date = NIGHT, decision: str = "send", scheduled_for: str | None = None,
           disclosures: list[str] | None = None, campaign: str = "heloc") -> None:
    con.execute(
        "insert into outreach.messages (seq, message_id, as_of_date, campaign_id, step, "
        "channel, borrower_id, disclosures, scheduled_for, decision, timezone) "
        "values (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
        [seq, message_id, night, campaign, channel, borrower,
         json.dumps(disclosures if disclosures is not None else ["identity"]),
         scheduled_for, decision, NEW_YORK])


def test_a_send_on_an_opted_out_or_revoked_channel_is_named(con):
    record(con, 0, "M1", "B1", "email")  # B1 opted out of email on 1 Nov
    record(con, 1, "M2", "B2", "sms")  # B2 replied STOP on 2 Nov
    record(con, 2, "M3", "B3", "sms")  # B3 opted in, and "thanks" is no stop word
    record(con, 3, "M4", "B3", "mail")  # no mail preference at all
    record(con, 4, "M5", "B1", "email", decision="suppress")  # not a send
    record(con, 5, "M6", "B2", "sms", night=date(2026, 11, 26))  # another night
    assert sends_to_opted_out(con, NIGHT) == ["M1: email opted out", "M2: sms opted out"]


def test_no_sends_no_problems(con):
    record(con, 0, "M1", "B1", "email", decision="suppress")
    assert sends_to_opted_out(con, NIGHT) == []
    assert calls_outside_window(con, NIGHT) == []


def test_texts_and_calls_outside_their_state_window_are_named(con):
    # Saturday 28 Nov 2026, New York time (UTC-5): federal 08:00-21:00; FL 08:00-20:00
    record(con, 0, "M1", "B1", "sms", scheduled_for="2026-11-28T07:30:00-05:00")  # before 8
    record(con, 1, "M2", "B1", "sms", scheduled_for="2026-11-28T20:30:00-05:00")  # NY: fine
    record(con, 2, "M3", "B2", "phone", scheduled_for="2026-11-28T20:30:00-05:00")  # FL: late
    record(con, 3, "M4", "B9", "sms", scheduled_for="2026-11-28T20:30:00-05:00")  # federal
    record(con, 4, "M5", "B1", "email", scheduled_for="2026-11-28T06:00:00-05:00")  # not a call
    problems = calls_outside_window(con, NIGHT)
    assert [p.split(":")[0] for p in problems] == ["M1", "M3"]
    assert "2026-11-28T07:30:00-05:00 in America/New_York" in problems[0]
    assert "(datetime.time(8, 0), datetime.time(20, 0))" in problems[1]


def test_a_send_without_its_channel_disclosure_is_named(con):
    record(con, 0, "M1", "B1", "email", disclosures=["identity"])  # lacks the CAN-SPAM footer
    record(con, 1, "M2", "B1", "email", disclosures=["identity", "canspam_footer"])
    record(con, 2, "M3", "B2", "sms", disclosures=["sms_optout"])  # lacks identity
    record(con, 3, "M4", "B3", "mail", disclosures=["identity"])
    assert missing_disclosures(con, NIGHT) == ["M1: missing ['canspam_footer']",
                                               "M3: missing ['identity']"]
