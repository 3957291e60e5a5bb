"""A borrower's consent on each channel as of a night, read from the consent log and replies.

Rows are mappings with the INPUTS.md columns: contact_preferences (borrower_id, channel,
action, recorded_at) and engagement_events (event_id, borrower_id, event_type, occurred_at,
detail). Timestamps are aware datetimes, naive ones (UTC) or ISO text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

CHANNELS = ("email", "sms", "phone", "mail", "partner_sharing")
DEFAULT_STOP_WORDS = frozenset(
    {"STOP", "QUIT", "END", "REVOKE", "OPTOUT", "CANCEL", "UNSUBSCRIBE", "STOPALL"}
)
EMAIL_STOP_EVENTS = frozenset({"email_bounce", "unsubscribe"})
CONSENT_EVENTS = EMAIL_STOP_EVENTS | {"sms_reply"}  # the engagement events consent reads
_NOT_LETTERS = re.compile(r"[\W_]+")  # punctuation and spaces, as tcpa.revocation reads a reply


class Evidence(NamedTuple):
    """A consent or DNC row a decision used: where it is, its key and its time. Never PII."""

    source: str  # contact_preferences | engagement_events | dnc_numbers
    key: str  # "<channel>:<action>", an event_id, or a DNC list name (the number is the borrower's)
    at: datetime | date  # UTC timestamp; a date for a DNC entry

    def as_dict(self) -> dict[str, str]:
        """For the audit record; the time as ISO text, formatted only for messages recorded."""
        return {"source": self.source, "key": self.key, "at": self.at.isoformat()}


class ChannelConsent(NamedTuple):
    """One channel's consent: the latest preference, and any revocation still in force."""

    status: str  # opt_in | opt_out | none (no row)
    row: Evidence | None  # the preference row that decided `status`
    revoked_by: Evidence | None  # a STOP reply (sms, phone) or bounce/unsubscribe (email)

    @property
    def opted_in(self) -> bool:
        return self.status == "opt_in" and self.revoked_by is None

    @property
    def opted_out(self) -> bool:
        return self.status == "opt_out" or self.revoked_by is not None

    def evidence(self) -> tuple[Evidence, ...]:
        # Written out: the gate asks once or twice per message.
        row, revoked_by = self.row, self.revoked_by
        if row is None:
            return () if revoked_by is None else (revoked_by,)
        return (row,) if revoked_by is None else (row, revoked_by)


NO_CONSENT = ChannelConsent("none", None, None)


def to_utc(ts: datetime | str) -> datetime:
    """A timestamp as an aware UTC datetime; one without an offset is UTC (INPUTS.md)."""
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)  # 3.11 reads a trailing Z
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


@lru_cache(maxsize=64)  # once per night, not once per borrower
def end_of(as_of: date) -> datetime:
    """The first instant after as_of, UTC: opt-ins count only before it."""
    return datetime.combine(as_of + timedelta(days=1), time(0), UTC)


def is_stop(text: str | None, stop_words: frozenset[str] = DEFAULT_STOP_WORDS) -> bool:
    """tcpa.revocation: upper-cased, punctuation and spaces removed, the reply is a stop word."""
    return bool(text) and _NOT_LETTERS.sub("", text.upper()) in stop_words


def resolve_consent(
    preferences: Iterable[Mapping[str, Any]],
    events: Iterable[Mapping[str, Any]],
    as_of: date,
    stop_words: frozenset[str] = DEFAULT_STOP_WORDS,
) -> dict[str, ChannelConsent]:
    """One borrower's consent per channel (every key of CHANNELS is present)."""
    cutoff = end_of(as_of)
    # Per channel the winning row; sort key (time, opt_out) makes the latest win and an
    # opt_out win a tie. Opt-outs count whatever their time, opt-ins only once recorded.
    latest: dict[str, tuple[tuple[datetime, bool], Mapping[str, Any]]] = {}
    for row in preferences:
        at = to_utc(row["recorded_at"])
        opt_out = row["action"] == "opt_out"
        if not opt_out and at >= cutoff:
            continue
        rank = (at, opt_out)
        held = latest.get(row["channel"])
        if held is None or rank > held[0]:
            latest[row["channel"]] = (rank, row)

    # Revocations of any time count, so only the latest of each kind matters.
    last_stop = last_email_stop = None
    for event in events:
        kind = event["event_type"]
        if kind == "sms_reply" and is_stop(event.get("detail"), stop_words):
            at = to_utc(event["occurred_at"])
            if last_stop is None or at > last_stop[0]:
                last_stop = (at, event)
        elif kind in EMAIL_STOP_EVENTS:
            at = to_utc(event["occurred_at"])
            if last_email_stop is None or at > last_email_stop[0]:
                last_email_stop = (at, event)

    revocations = {"sms": last_stop, "phone": last_stop, "email": last_email_stop}
    consent = dict.fromkeys(CHANNELS, NO_CONSENT)
    for channel in CHANNELS:
        held, revocation = latest.get(channel), revocations.get(channel)
        if held is None and revocation is None:
            continue
        status, row, since = "none", None, None
        if held is not None:
            (at, opt_out), pref = held
            status = "opt_out" if opt_out else "opt_in"
            row = Evidence("contact_preferences", f"{channel}:{pref['action']}", at)
            since = None if opt_out else at
        revoked_by = None
        # A revocation stands unless an opt_in for this very channel came strictly after it.
        if revocation is not None and not (since is not None and since > revocation[0]):
            revoked_by = Evidence(
                "engagement_events", str(revocation[1]["event_id"]), revocation[0]
            )
        consent[channel] = ChannelConsent(status, row, revoked_by)
    return consent


def group_by_borrower(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["borrower_id"], []).append(row)
    return grouped
