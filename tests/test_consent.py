"""Consent read from the log: latest row wins, opt-outs of any time, opt-ins up to as_of, STOP."""

from datetime import UTC, date, datetime

import pytest

from pipelines.lib.consent import Evidence, end_of, is_stop, resolve_consent, to_utc

AS_OF = date(2026, 11, 28)


def pref(channel, action, at):
    return {
        "borrower_id": "b1",
        "channel": channel,
        "action": action,
        "recorded_at": at,
        "source": None,
    }


def event(event_id, kind, at, detail=None):
    return {
        "event_id": event_id,
        "borrower_id": "b1",
        "event_type": kind,
        "occurred_at": at,
        "detail": detail,
    }


def test_latest_row_wins():
    rows = [
        pref("sms", "opt_out", "2026-01-01T00:00:00Z"),
        pref("sms", "opt_in", "2026-02-01T00:00:00Z"),
    ]
    assert resolve_consent(rows, [], AS_OF)["sms"].status == "opt_in"
    rows = [
        pref("sms", "opt_in", "2026-01-01T00:00:00Z"),
        pref("sms", "opt_out", "2026-02-01T00:00:00Z"),
    ]
    assert resolve_consent(rows, [], AS_OF)["sms"].status == "opt_out"


@pytest.mark.parametrize("order", [1, -1])
def test_equal_timestamps_opt_out_wins(order):
    rows = [
        pref("email", "opt_in", "2026-05-01T12:00:00Z"),
        pref("email", "opt_out", "2026-05-01T12:00:00Z"),
    ]
    consent = resolve_consent(rows[::order], [], AS_OF)["email"]
    assert consent.status == "opt_out"
    assert consent.row.as_dict() == {
        "source": "contact_preferences",
        "key": "email:opt_out",
        "at": "2026-05-01T12:00:00+00:00",
    }


def test_equal_instants_in_different_offsets_are_a_tie():
    rows = [
        pref("sms", "opt_out", "2026-05-01T07:00:00-05:00"),
        pref("sms", "opt_in", "2026-05-01T12:00:00Z"),
    ]
    assert resolve_consent(rows, [], AS_OF)["sms"].status == "opt_out"


def test_opt_out_after_as_of_still_suppresses():
    rows = [
        pref("sms", "opt_in", "2026-01-01T00:00:00Z"),
        pref("sms", "opt_out", "2026-12-05T00:00:00Z"),
    ]
    consent = resolve_consent(rows, [], AS_OF)["sms"]
    assert consent.status == "opt_out" and not consent.opted_in


def test_opt_in_after_as_of_does_not_count():
    base = [pref("sms", "opt_out", "2026-01-01T00:00:00Z")]
    # 23:59:59 UTC on as_of is known that night; midnight after it is not.
    assert (
        resolve_consent(base + [pref("sms", "opt_in", "2026-11-28T23:59:59Z")], [], AS_OF)[
            "sms"
        ].status
        == "opt_in"
    )
    assert (
        resolve_consent(base + [pref("sms", "opt_in", "2026-11-29T00:00:00Z")], [], AS_OF)[
            "sms"
        ].status
        == "opt_out"
    )
    # 20:00 in New York on as_of is 01:00 UTC the day after: not yet known.
    late = pref("sms", "opt_in", "2026-11-28T20:00:00-05:00")
    assert resolve_consent(base + [late], [], AS_OF)["sms"].status == "opt_out"
    # With nothing earlier, a future opt_in leaves no consent at all.
    assert (
        resolve_consent([pref("phone", "opt_in", "2026-12-01T00:00:00Z")], [], AS_OF)[
            "phone"
        ].status
        == "none"
    )


def test_naive_timestamps_are_utc():
    assert to_utc("2026-11-28T10:00:00") == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert to_utc(datetime(2026, 11, 28, 10)) == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert end_of(AS_OF) == datetime(2026, 11, 29, tzinfo=UTC)


def test_channels_are_independent_and_default_to_none():
    consent = resolve_consent([pref("email", "opt_out", "2026-01-01T00:00:00Z")], [], AS_OF)
    assert consent["email"].status == "opt_out"
    assert {consent[c].status for c in ("sms", "phone", "mail", "partner_sharing")} == {"none"}


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop.",
        " s t o p ",
        "STOP ALL",
        "opt-out",
        "Unsubscribe!",
        "end",
        "Quit",
        "REVOKE",
        "cancel",
        "stopall",
    ],
)
def test_stop_words(text):
    assert is_stop(text)


@pytest.mark.parametrize("text", ["STOPPED", "please stop", "stop it", "", None, "YES", "Halt"])
def test_not_stop_words(text):
    assert not is_stop(text)


def test_stop_revokes_sms_and_phone_later_sms_opt_in_restores_only_sms():
    rows = [
        pref("sms", "opt_in", "2026-01-01T00:00:00Z"),
        pref("phone", "opt_in", "2026-01-01T00:00:00Z"),
    ]
    stop = [event("e1", "sms_reply", "2026-03-01T00:00:00Z", "STOP.")]
    consent = resolve_consent(rows, stop, AS_OF)
    assert consent["sms"].revoked_by == Evidence(
        "engagement_events", "e1", datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert consent["phone"].revoked_by is not None
    assert not consent["sms"].opted_in and not consent["phone"].opted_in
    assert consent["email"].revoked_by is None  # STOP is about texts and calls only

    restored = resolve_consent(rows + [pref("sms", "opt_in", "2026-04-01T00:00:00Z")], stop, AS_OF)
    assert restored["sms"].opted_in
    assert not restored["phone"].opted_in and restored["phone"].revoked_by is not None


def test_stop_at_the_same_instant_as_an_opt_in_wins():
    rows = [pref("sms", "opt_in", "2026-03-01T00:00:00Z")]
    consent = resolve_consent(
        rows, [event("e1", "sms_reply", "2026-03-01T00:00:00Z", "stop")], AS_OF
    )
    assert not consent["sms"].opted_in


def test_stop_after_as_of_counts_and_a_non_stop_reply_does_not():
    rows = [pref("sms", "opt_in", "2026-01-01T00:00:00Z")]
    assert not resolve_consent(
        rows, [event("e1", "sms_reply", "2027-01-01T00:00:00Z", "Stop")], AS_OF
    )["sms"].opted_in
    assert resolve_consent(
        rows, [event("e2", "sms_reply", "2026-06-01T00:00:00Z", "Thanks!")], AS_OF
    )["sms"].opted_in


def test_latest_stop_is_the_one_that_counts():
    rows = [pref("sms", "opt_in", "2026-02-01T00:00:00Z")]
    stops = [
        event("e1", "sms_reply", "2026-01-01T00:00:00Z", "STOP"),
        event("e2", "sms_reply", "2026-03-01T00:00:00Z", "QUIT"),
    ]
    assert resolve_consent(rows, stops, AS_OF)["sms"].revoked_by.key == "e2"


@pytest.mark.parametrize("kind", ["email_bounce", "unsubscribe"])
def test_bounce_and_unsubscribe_suppress_email_whatever_their_time(kind):
    consent = resolve_consent([], [event("e9", kind, "2027-02-01T00:00:00Z")], AS_OF)["email"]
    assert consent.opted_out
    assert [e.as_dict() for e in consent.evidence()] == [
        {"source": "engagement_events", "key": "e9", "at": "2027-02-01T00:00:00+00:00"}
    ]


def test_a_later_email_opt_in_resubscribes():
    # An affirmative opt_in recorded after the unsubscribe (and known by as_of) restores email.
    events = [event("e9", "unsubscribe", "2026-02-01T00:00:00Z")]
    later = [pref("email", "opt_in", "2026-03-01T00:00:00Z")]
    assert not resolve_consent(later, events, AS_OF)["email"].opted_out
    earlier = [pref("email", "opt_in", "2026-01-01T00:00:00Z")]
    assert resolve_consent(earlier, events, AS_OF)["email"].opted_out


def test_other_events_are_ignored():
    events = [
        event("e1", "email_open", "2026-01-01T00:00:00Z"),
        event("e2", "email_click", "2026-01-01T00:00:00Z"),
    ]
    consent = resolve_consent([], events, AS_OF)
    assert all(c.status == "none" and c.revoked_by is None for c in consent.values())


def test_evidence_carries_no_reply_text():
    consent = resolve_consent(
        [], [event("e1", "sms_reply", "2026-01-01T00:00:00Z", "STOP, my number is 555")], AS_OF
    )
    assert "555" not in repr(consent["sms"].evidence())
