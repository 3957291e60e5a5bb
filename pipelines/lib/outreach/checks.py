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
from pipelines.lib.outreach.store import verify_night

CHANNEL_DISCLOSURE = {"email": "canspam_footer", "sms": "sms_optout"}
CONSENT_CHANNEL = {"email": "email", "sms": "sms", "phone": "phone", "mail": "mail"}


# Tonight's sends, as a subquery: the checks join to it in DuckDB rather than pass ids back.
SENDS = "from outreach.messages where as_of_date = ? and decision = 'send'"


def _sends(con: duckdb.DuckDBPyConnection, as_of: date, columns: str) -> list[dict]:
    return rows(con, f"select {columns} {SENDS} order by seq", [as_of])


def missing_disclosures(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    campaigns = load_campaigns()
    # A night's sends share a few dozen (campaign, step, channel, disclosures) combinations:
    # each is judged once, then the sends of the failing ones are named.
    missing = {}
    for campaign_id, step_no, channel, disclosures in con.execute(
            f"select distinct campaign_id, step, channel, disclosures {SENDS}",
            [as_of]).fetchall():
        have = set(json.loads(disclosures or "[]"))
        campaign = campaigns[campaign_id]
        step = campaign.steps[step_no]
        need = {"identity"} | ({CHANNEL_DISCLOSURE[channel]}
                               if channel in CHANNEL_DISCLOSURE else set())
        if campaign.step_flag(step, "settlement_service_referral"):
            need.add("afba")
        if need - have:
            missing[campaign_id, step_no, channel, disclosures] = sorted(need - have)
    if not missing:
        return []
    return [f"{s['message_id']}: missing {missing[key]}"
            for s in _sends(con, as_of, "message_id, campaign_id, step, channel, disclosures")
            if (key := (s["campaign_id"], s["step"], s["channel"], s["disclosures"])) in missing]


def sends_to_opted_out(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    sends = _sends(con, as_of, "message_id, channel, borrower_id")
    if not sends:
        return []
    sent_to = f"borrower_id in (select borrower_id {SENDS})"
    prefs, events = {}, {}
    for r in rows(con, f"select borrower_id, channel, action, recorded_at "
                       f"from staging.stg_raw__contact_preferences where {sent_to}", [as_of]):
        prefs.setdefault(r["borrower_id"], []).append(r)
    for r in rows(con, f"select event_id, borrower_id, event_type, occurred_at, detail "
                       f"from staging.stg_raw__engagement_events where event_type in "
                       f"('sms_reply', 'email_bounce', 'unsubscribe') and {sent_to}", [as_of]):
        events.setdefault(r["borrower_id"], []).append(r)
    bad = []
    consents = {}  # borrower_id -> their consent, resolved once for all their sends
    for s in sends:
        consent = consents.get(s["borrower_id"])
        if consent is None:
            consent = consents[s["borrower_id"]] = resolve_consent(
                prefs.get(s["borrower_id"], []), events.get(s["borrower_id"], []), as_of)
        channel = consent[CONSENT_CHANNEL[s["channel"]]]
        if channel.opted_out or channel.revoked_by is not None:
            bad.append(f"{s['message_id']}: {s['channel']} opted out")
    return bad


def calls_outside_window(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    windows = CallingWindows.load()
    bad = []
    outside = {}  # (scheduled_for, timezone, mailing_state) -> why, judged once for its sends
    # each text or call with its borrower's mailing state, read in one query
    for s in rows(con, f"""
            select m.message_id, m.scheduled_for, m.timezone, b.mailing_state
            from (select seq, message_id, scheduled_for, timezone, borrower_id {SENDS}
                  and channel in ('sms', 'phone')) m
            left join staging.stg_raw__borrowers b using (borrower_id)  -- one row a borrower
            order by m.seq""", [as_of]):
        key = (s["scheduled_for"], s["timezone"], s["mailing_state"])
        if key not in outside:
            outside[key] = _outside_window(windows, *key)
        bad.extend(f"{s['message_id']}: {why}" for why in outside[key])
    return bad


def _outside_window(windows: CallingWindows, scheduled_for: str, zones: str,
                    mailing_state: str | None) -> list[str]:
    """Why a text or call at `scheduled_for` falls outside its window in each of `zones`."""
    at = datetime.fromisoformat(scheduled_for)
    why = []
    for zone in json.loads(zones):
        local = at.astimezone(ZoneInfo(zone))
        window = windows.window(local.date(), mailing_state)
        if window is None or not (window[0] <= local.time() < window[1]):
            why.append(f"{local.isoformat()} in {zone} is outside {window}")
    return why


def broken_audit_chain(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    result = verify_night(con, as_of)
    return [] if result.ok else [f"record {result.first_bad_id}: {result.reason}"]


CHECKS = {
    "sends_carry_their_disclosures": missing_disclosures,
    "no_send_to_an_opted_out_channel": sends_to_opted_out,
    "texts_and_calls_inside_the_window": calls_outside_window,
    "audit_chain_intact": broken_audit_chain,
}
