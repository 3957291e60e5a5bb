"""Properties of the gate over random consent logs, DNC lists, replies, zones, states and days.

The oracles here are written independently of the gate: consent as "every opt-out is followed
by a known opt-in", windows from a small table typed in below.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.lib.consent import is_stop
from pipelines.lib.gate import NO_FACTS, Candidate, Gate, apply_frequency_cap, facts_by_borrower
from pipelines.lib.register import load_register

REG = load_register()
GATE = Gate(REG)
AS_OF = date(2026, 6, 30)
CUTOFF = datetime(2026, 7, 1, tzinfo=UTC)
US_HOLIDAYS = holidays.US()
BORROWERS = ["b1", "b2", "b3"]
PHONES = {"b1": "+15550000001", "b2": "+15550000002", "b3": "+15550000003"}
# A few instants either side of the cutoff, so ties and future rows are common.
INSTANTS = [CUTOFF + timedelta(hours=h) for h in (-24, -1, 0, 48)]
STATES = ["FL", "RI", "TX", "KY", "AL", "UT", "CA", "NY", None]
ZONES = [
    None,
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Pacific/Honolulu",
]
# Days around the observed Independence Day, MLK Day, a DST change, and ordinary weekdays.
DAYS = (
    [date(2026, 7, d) for d in range(1, 8)]
    + [date(2026, 1, d) for d in (17, 18, 19, 20)]
    + [date(2026, 3, 8), date(2026, 11, 1)]
)

# (weekday window, saturday, sunday, holidays banned) in hours; None: closed that day.
FED = (8, 21)
STATE_WINDOWS = {
    "FL": ((8, 20), (8, 20), (8, 20), False),
    "RI": ((9, 18), (10, 17), None, True),
    "TX": ((9, 21), (9, 21), (12, 21), False),
    "KY": ((10, 21), (10, 21), (10, 21), False),
    "AL": ((8, 20), (8, 20), None, True),
    "UT": (FED, FED, FED, True),
}

pref = st.fixed_dictionaries(
    {
        "borrower_id": st.sampled_from(BORROWERS),
        "channel": st.sampled_from(["sms", "phone", "email", "mail"]),
        "action": st.sampled_from(["opt_in", "opt_out"]),
        "recorded_at": st.sampled_from(INSTANTS),
    }
)
event = st.fixed_dictionaries(
    {
        "event_id": st.uuids().map(str),
        "borrower_id": st.sampled_from(BORROWERS),
        "event_type": st.sampled_from(["sms_reply", "email_bounce", "unsubscribe", "email_open"]),
        "occurred_at": st.sampled_from(INSTANTS),
        "detail": st.sampled_from(["STOP", "stop.", "Quit!", "hello", None]),
    }
)
dnc = st.fixed_dictionaries(
    {
        "phone": st.sampled_from(list(PHONES.values())),
        "list_name": st.sampled_from(["internal", "national"]),
        "added_at": st.just(date(2027, 1, 1)),
    }
)
borrower = st.fixed_dictionaries({"state": st.sampled_from(STATES), "zone": st.sampled_from(ZONES)})
message = st.tuples(
    st.sampled_from(BORROWERS),
    st.sampled_from(["email", "sms", "phone", "mail", "lo_call"]),
    st.sampled_from([("refinance", 1), ("insurance", 2), ("heloc", 4), ("alpha", 4)]),
    st.sampled_from(DAYS),
)


def opted_out(channel, prefs, events):
    """Independent oracle: may not be sent on `channel`."""
    known_ins = [
        p["recorded_at"]
        for p in prefs
        if p["channel"] == channel and p["action"] == "opt_in" and p["recorded_at"] < CUTOFF
    ]
    revocations = [
        p["recorded_at"] for p in prefs if p["channel"] == channel and p["action"] == "opt_out"
    ]
    if channel in ("sms", "phone"):
        revocations += [
            e["occurred_at"]
            for e in events
            if e["event_type"] == "sms_reply" and is_stop(e["detail"])
        ]
        if not known_ins:
            return True  # no prior express written consent
    if channel == "email":
        revocations += [
            e["occurred_at"] for e in events if e["event_type"] in ("email_bounce", "unsubscribe")
        ]
    return any(not any(i > r for i in known_ins) for r in revocations)


def window_hours(state, day):
    weekday, saturday, sunday, no_holidays = STATE_WINDOWS.get(state, (FED, FED, FED, False))
    if no_holidays and day in US_HOLIDAYS:
        return None
    return {5: saturday, 6: sunday}.get(day.weekday(), weekday)


@settings(max_examples=250, deadline=None)
@given(
    prefs=st.lists(pref, max_size=8),
    events=st.lists(event, max_size=4),
    dnc_rows=st.lists(dnc, max_size=3),
    people=st.fixed_dictionaries({b: borrower for b in BORROWERS}),
    messages=st.lists(message, min_size=1, max_size=12),
    history=st.dictionaries(
        st.sampled_from(BORROWERS), st.lists(st.sampled_from(DAYS), max_size=5)
    ),
    granted=st.sets(st.sampled_from(BORROWERS)),
)
def test_gate_never_sends_what_it_must_not(
    prefs, events, dnc_rows, people, messages, history, granted
):
    # Borrowers who gave written consent long ago, so that texts and calls get sent at all.
    prefs = [
        {
            "borrower_id": b,
            "channel": ch,
            "action": "opt_in",
            "recorded_at": CUTOFF - timedelta(days=30),
        }
        for b in sorted(granted)
        for ch in ("sms", "phone")
    ] + prefs
    borrowers = [{"borrower_id": b, "phone": PHONES[b]} for b in BORROWERS]
    facts = facts_by_borrower(borrowers, prefs, events, dnc_rows, [], AS_OF, REG)
    candidates = [
        Candidate(
            message_id=f"m{i}",
            borrower_id=b,
            campaign_id=campaign,
            step=0,
            channel=channel,
            send_day=day,
            priority=priority,
            has_email=True,
            phone=PHONES[b],
            has_postal_address=True,
            mailing_state=people[b]["state"],
            property_state="NY",
            timezone=people[b]["zone"],
            enrolled_loan_status="funded",
            enrolled_loan_servicing="current",
        )
        for i, (b, channel, (campaign, priority), day) in enumerate(messages)
    ]
    gated = [(c, GATE.decide(c, facts.get(c.borrower_id, NO_FACTS))) for c in candidates]
    final = apply_frequency_cap(gated, history, REG)
    internal = {r["phone"] for r in dnc_rows if r["list_name"] == "internal"}

    per_day: dict[tuple[str, date], int] = {}
    for c, d in zip(candidates, final):
        if d.decision != "send":
            assert d.scheduled_for is None
            continue
        mine = [p for p in prefs if p["borrower_id"] == c.borrower_id]
        theirs = [e for e in events if e["borrower_id"] == c.borrower_id]
        consent_channel = "phone" if c.channel == "lo_call" else c.channel
        if c.channel != "lo_call":
            assert not opted_out(consent_channel, mine, theirs), (c, d)
        if c.channel in ("sms", "phone", "lo_call"):
            assert c.phone not in internal
            hours = window_hours(c.mailing_state, c.send_day)
            assert hours is not None, (c, d)
            for zone in d.timezone:
                local = d.scheduled_for.astimezone(ZoneInfo(zone))
                assert local.date() == c.send_day, (c, d, zone)
                assert time(hours[0]) <= local.time() < time(hours[1]), (c, d, zone)
                assert time(FED[0]) <= local.time() < time(FED[1])
        if c.channel != "lo_call":
            per_day[c.borrower_id, c.send_day] = per_day.get((c.borrower_id, c.send_day), 0) + 1

    for (b, day), n in per_day.items():
        assert n + history.get(b, []).count(day) <= 1 or n == 0
        assert n <= 1
        in_30 = sum(1 for h in history.get(b, []) if 0 <= (day - h).days < 30)
        in_30 += sum(m for (b2, d2), m in per_day.items() if b2 == b and 0 <= (day - d2).days < 30)
        assert in_30 <= 4 or n == 0
