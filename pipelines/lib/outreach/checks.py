"""Checks on a night's recorded sends, run before any send file leaves the building.

They re-read what was recorded rather than trusting the planner: a send without a disclosure
it needs, a send on a channel the borrower opted out of, a text or call outside its window,
or a broken audit chain each stop the export.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import duckdb

from pipelines.lib.calling_window import CallingWindows
from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.consent import resolve_consent
from pipelines.lib.outreach.state import rows
from pipelines.lib.outreach.store import verify_audit_log

CHANNEL_DISCLOSURE = {"email": "canspam_footer", "sms": "sms_optout"}
CONSENT_CHANNEL = {"email": "email", "sms": "sms", "phone": "phone", "mail": "mail"}


def _sends(con: duckdb.DuckDBPyConnection, as_of: date) -> list[dict]:
    return rows(con, "select * from outreach.messages where as_of_date = ? and decision = "
                     "'send' order by seq", [as_of])


def missing_disclosures(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    campaigns = load_campaigns()
    bad = []
    for s in _sends(con, as_of):
        have = set(json.loads(s["disclosures"] or "[]"))
        campaign = campaigns[s["campaign_id"]]
        step = campaign.steps[s["step"]]
        need = {"identity"} | ({CHANNEL_DISCLOSURE[s["channel"]]}
                               if s["channel"] in CHANNEL_DISCLOSURE else set())
        if campaign.step_flag(step, "settlement_service_referral"):
            need.add("afba")
        if need - have:
            bad.append(f"{s['message_id']}: missing {sorted(need - have)}")
    return bad


def sends_to_opted_out(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    sends = _sends(con, as_of)
    ids = sorted({s["borrower_id"] for s in sends})
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    prefs, events = {}, {}
    for r in rows(con, f"select * from staging.stg_raw__contact_preferences "
                       f"where borrower_id in ({marks})", ids):
        prefs.setdefault(r["borrower_id"], []).append(r)
    for r in rows(con, f"select * from staging.stg_raw__engagement_events where event_type in "
                       f"('sms_reply', 'email_bounce', 'unsubscribe') and borrower_id in "
                       f"({marks})", ids):
        events.setdefault(r["borrower_id"], []).append(r)
    bad = []
    for s in sends:
        consent = resolve_consent(prefs.get(s["borrower_id"], []),
                                  events.get(s["borrower_id"], []), as_of)
        channel = consent[CONSENT_CHANNEL[s["channel"]]]
        if channel.opted_out or channel.revoked_by is not None:
            bad.append(f"{s['message_id']}: {s['channel']} opted out")
    return bad


def calls_outside_window(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    windows = CallingWindows.load()
    bad = []
    for s in _sends(con, as_of):
        if s["channel"] not in ("sms", "phone"):
            continue
        at = datetime.fromisoformat(s["scheduled_for"])
        state = rows(con, "select mailing_state from staging.stg_raw__borrowers "
                          "where borrower_id = ?", [s["borrower_id"]])
        mailing_state = state[0]["mailing_state"] if state else None
        for zone in json.loads(s["timezone"]):
            local = at.astimezone(ZoneInfo(zone))
            window = windows.window(local.date(), mailing_state)
            if window is None or not (window[0] <= local.time() < window[1]):
                bad.append(f"{s['message_id']}: {local.isoformat()} in {zone} is outside "
                           f"{window}")
    return bad


def broken_audit_chain(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    result = verify_audit_log(con)
    return [] if result.ok else [f"record {result.first_bad_id}: {result.reason}"]


CHECKS = {
    "sends_carry_their_disclosures": missing_disclosures,
    "no_send_to_an_opted_out_channel": sends_to_opted_out,
    "texts_and_calls_inside_the_window": calls_outside_window,
    "audit_chain_intact": broken_audit_chain,
}
