"""The compliance gate: one decision per message, the rule that decided it, and when it may go out.

The gate decides suppress and defer (consent, contact, servicing, calling window) and the
frequency cap. Holds (campaign guards) and blocks (content rules) are decided elsewhere and
win over what is decided here (COMPLIANCE.md "Decisions").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from pipelines.lib.calling_window import CALL_CHANNELS, CallingWindows, Slot
from pipelines.lib.consent import (
    CHANNELS,
    CONSENT_EVENTS,
    DEFAULT_STOP_WORDS,
    NO_CONSENT,
    ChannelConsent,
    Evidence,
    group_by_borrower,
    resolve_consent,
)
from pipelines.lib.register import DECISION_RANK, Register
from pipelines.lib.timezones import TimezoneResolver

DISTRESS_STATUSES = frozenset({"bankruptcy", "foreclosure", "forbearance"})
LO_CALL = "lo_call"  # the loan-officer call list: gated like a call, outside the frequency cap
# The consent log channel each gate channel reads: an officer's call is a phone call.
CONSENT_CHANNEL = {
    "email": "email",
    "sms": "sms",
    "phone": "phone",
    "mail": "mail",
    LO_CALL: "phone",
}


class Candidate(NamedTuple):
    """A message the night would like to send. Contact details are presence flags, except the
    phone, whose DNC status is in the borrower's facts."""

    message_id: str
    borrower_id: str
    campaign_id: str
    step: int
    channel: str  # email | sms | phone | mail | lo_call
    send_day: date
    priority: int = 100  # the campaign's priority: the lower number wins the frequency cap
    consumer_credit: bool = False
    # Any credit offer, business-purpose too (investment_property); consumer_credit implies it.
    credit_offer: bool = False
    partner_referral: bool = False
    enrolled_loan_status: str | None = None
    enrolled_loan_servicing: str | None = None
    has_email: bool = False
    phone: str | None = None
    has_postal_address: bool = False
    mailing_state: str | None = None
    mailing_zip: str | None = None
    property_state: str | None = None
    timezone: str | None = None  # the borrower's own IANA zone field
    control_group: bool = False
    converted: bool = False  # converted on the campaign's product within its exclusion window


class BorrowerFacts(NamedTuple):
    """What the gate knows about one borrower on a night, resolved once for all their messages."""

    consent: Mapping[str, ChannelConsent]
    dnc: Mapping[str, Evidence]  # list name (internal, national) -> the row for their phone
    loan_servicing: tuple[str | None, ...]  # every loan's servicing status


class Decision(NamedTuple):
    decision: str  # send | defer | suppress (hold and block are decided elsewhere)
    rule_id: str | None  # None for send
    rules_evaluated: tuple[str, ...]
    scheduled_for: datetime | date | None  # aware datetime; a date for mail; None unless send
    consent_rows_used: tuple[Evidence, ...]
    timezone: tuple[str, ...]
    timezone_method: str
    next_allowed_day: date | None = None  # for a tcpa.hours deferral: the next day with a window

    def audit_fields(self) -> dict[str, Any]:
        """The decision as JSON-ready fields of the audit record (ids and times, no PII)."""
        return {
            "decision": self.decision,
            "reason": self.rule_id,
            "rules_evaluated": list(self.rules_evaluated),
            "scheduled_for": self.scheduled_for.isoformat() if self.scheduled_for else None,
            "consent_rows_used": [e.as_dict() for e in self.consent_rows_used],
            "timezone": list(self.timezone),
            "timezone_method": self.timezone_method,
            "next_allowed_day": self.next_allowed_day.isoformat()
            if self.next_allowed_day
            else None,
        }


def build_facts(
    preferences: Iterable[Mapping[str, Any]],
    events: Iterable[Mapping[str, Any]],
    dnc_rows: Iterable[Mapping[str, Any]],
    loan_servicing: Iterable[str | None],
    as_of: date,
    stop_words: frozenset[str] = DEFAULT_STOP_WORDS,
) -> BorrowerFacts:
    """One borrower's facts. dnc_rows are the dnc_numbers rows for their phone, of any date:
    DNC entries take effect as soon as they are in the landing zone."""
    consent = resolve_consent(preferences, events, as_of, stop_words)
    dnc: dict[str, Evidence] = {}
    for added, name in sorted((_day(r["added_at"]), r["list_name"]) for r in dnc_rows):
        dnc.setdefault(name, Evidence("dnc_numbers", name, added))  # the earliest entry per list
    return BorrowerFacts(consent, dnc, tuple(loan_servicing))


def _day(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


NO_FACTS = BorrowerFacts(dict.fromkeys(CHANNELS, NO_CONSENT), {}, ())


def facts_by_borrower(
    borrowers: Iterable[Mapping[str, Any]],
    preferences: Iterable[Mapping[str, Any]],
    events: Iterable[Mapping[str, Any]],
    dnc_numbers: Iterable[Mapping[str, Any]],
    loans: Iterable[Mapping[str, Any]],
    as_of: date,
    register: Register | None = None,
) -> dict[str, BorrowerFacts]:
    """Facts for every borrower, from rows with the INPUTS.md columns: borrowers (borrower_id,
    phone), contact_preferences, engagement_events, dnc_numbers, loans (borrower_id,
    servicing_status). Pass only the borrowers with messages tonight: facts cost about as
    much to build as a few decisions. A borrower with nothing on record is left out: use
    NO_FACTS for them."""
    stop_words = _stop_words(register)
    prefs = group_by_borrower(preferences)
    # Opens and clicks far outnumber the replies, bounces and unsubscribes consent reads.
    evts = group_by_borrower(e for e in events if e["event_type"] in CONSENT_EVENTS)
    dnc_by_phone: dict[str, list] = {}
    for row in dnc_numbers:
        dnc_by_phone.setdefault(row["phone"], []).append(row)
    servicing: dict[str, list] = {}
    for loan in loans:
        servicing.setdefault(loan["borrower_id"], []).append(loan.get("servicing_status"))
    facts = {}
    for borrower in borrowers:
        bid, phone = borrower["borrower_id"], borrower.get("phone")
        dnc = dnc_by_phone.get(phone, ()) if phone else ()
        if bid in prefs or bid in evts or dnc or bid in servicing:
            facts[bid] = build_facts(
                prefs.get(bid, ()),
                evts.get(bid, ()),
                dnc,
                servicing.get(bid, ()),
                as_of,
                stop_words,
            )
    return facts


def _stop_words(register: Register | None) -> frozenset[str]:
    if register is None or "tcpa.revocation" not in register:
        return DEFAULT_STOP_WORDS
    return frozenset(register.params("tcpa.revocation").get("stop_words", DEFAULT_STOP_WORDS))


Check = Callable[[Candidate, BorrowerFacts, Slot], bool]  # True: the rule stops the message


class _Plan(NamedTuple):
    steps: tuple[tuple[str, Check, str], ...]  # (rule id, check, decision), strictest first
    evaluated: tuple[tuple[str, ...], ...]  # rules evaluated when step i decides
    all_rules: tuple[str, ...]


class Gate:
    """Decides messages against a register; build one per night and call decide() per message."""

    def __init__(
        self,
        register: Register,
        windows: CallingWindows | None = None,
        zones: TimezoneResolver | None = None,
    ) -> None:
        self.register = register
        self.windows = windows or CallingWindows.load()
        self.zones = zones or TimezoneResolver()
        # A slot depends on the channel, day, zones and state only: a night has a few hundred.
        self._slots: dict[tuple, Slot] = {}
        distress = frozenset(
            register.params("servicing.hold").get("distress_statuses", DISTRESS_STATUSES)
        )
        opt_in_states = frozenset(register.params("glba.partner_sharing").get("opt_in_states", ()))
        checks = _checks(distress, opt_in_states)
        universal = ("control_group", "servicing.hold", "conversion", "contact.missing")
        tcpa = ("tcpa.pewc", "tcpa.revocation", "tcpa.internal_dnc", "tcpa.national_dnc")
        by_channel = {
            "email": (*universal, "canspam.optout"),
            "sms": (*universal, *tcpa),
            "phone": (*universal, *tcpa),
            "mail": (*universal, "mail.optout"),
            # RULES.md: the officer's list leaves off internal-DNC numbers and revoked consent.
            LO_CALL: (*universal, "tcpa.revocation", "tcpa.internal_dnc"),
        }
        self.plans: dict[tuple[str, bool], _Plan] = {}
        for channel, rule_ids in by_channel.items():
            for partner in (False, True):
                ids = list(rule_ids)
                if partner:
                    ids.append("glba.partner_sharing")
                if channel in CALL_CHANNELS:
                    ids.append("tcpa.hours")
                self.plans[channel, partner] = self._plan(channel, ids, checks)

    def _plan(self, channel: str, rule_ids: list[str], checks: dict) -> _Plan:
        # Strictest decision first, the documented order within one decision: the first rule
        # that fires is then the strictest applicable one, and the gate can stop there.
        ranked = sorted(rule_ids, key=lambda r: DECISION_RANK[self.register.decision(r)])
        steps = tuple(
            (r, checks.get((r, channel)) or checks[r], self.register.decision(r)) for r in ranked
        )
        evaluated = tuple(tuple(ranked[: i + 1]) for i in range(len(ranked)))
        return _Plan(steps, evaluated, tuple(ranked))

    def decide(self, c: Candidate, facts: BorrowerFacts) -> Decision:
        zone = self.zones.resolve(c.timezone, c.mailing_zip, c.mailing_state, c.property_state)
        key = (c.channel, c.send_day, zone.zones, c.mailing_state)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = self.windows.slot(*key)
        plan = self.plans[c.channel, c.partner_referral]
        used = facts.consent[CONSENT_CHANNEL[c.channel]].evidence()
        if facts.dnc and c.channel in CALL_CHANNELS:
            used += tuple(facts.dnc.values())
        if c.partner_referral:
            used += facts.consent["partner_sharing"].evidence()
        for i, (rule_id, check, decision) in enumerate(plan.steps):
            if check(c, facts, slot):
                return Decision(
                    decision,
                    rule_id,
                    plan.evaluated[i],
                    None,
                    used,
                    zone.zones,
                    zone.method,
                    slot.next_allowed_day if rule_id == "tcpa.hours" else None,
                )
        return Decision(
            "send", None, plan.all_rules, slot.scheduled_for, used, zone.zones, zone.method
        )


def _checks(distress: frozenset[str], opt_in_states: frozenset[str]) -> dict[Any, Check]:
    """Each rule as a test of one message; keyed by rule id, or (rule id, channel) where the
    test differs by channel."""

    def servicing_hold(c: Candidate, f: BorrowerFacts, _: Slot) -> bool:
        if c.enrolled_loan_servicing in distress or not distress.isdisjoint(f.loan_servicing):
            return True
        credit = c.credit_offer or c.consumer_credit
        return credit and (
            c.enrolled_loan_servicing != "current" or c.enrolled_loan_status == "paid_off"
        )

    def partner_sharing(c: Candidate, f: BorrowerFacts, _: Slot) -> bool:
        status = f.consent["partner_sharing"].status
        resident_of = c.mailing_state or c.property_state
        return status == "opt_out" or (resident_of in opt_in_states and status != "opt_in")

    def calls(rule: str, test: Callable[[ChannelConsent, BorrowerFacts], bool]) -> dict:
        return {
            (rule, ch): (lambda c, f, _, ch=ch: test(f.consent[ch], f)) for ch in ("sms", "phone")
        }

    checks: dict[Any, Check] = {
        "control_group": lambda c, f, s: c.control_group,
        "servicing.hold": servicing_hold,
        "conversion": lambda c, f, s: c.converted,
        ("contact.missing", "email"): lambda c, f, s: not c.has_email,
        ("contact.missing", "mail"): lambda c, f, s: not c.has_postal_address,
        "contact.missing": lambda c, f, s: not c.phone,  # sms, phone, lo_call
        "tcpa.internal_dnc": lambda c, f, s: "internal" in f.dnc,
        "canspam.optout": lambda c, f, s: f.consent["email"].opted_out,
        "mail.optout": lambda c, f, s: f.consent["mail"].status == "opt_out",
        "glba.partner_sharing": partner_sharing,
        "tcpa.hours": lambda c, f, s: s.scheduled_for is None,
        # No opt_out reaches the officer's list, whether a preference row or a STOP reply.
        ("tcpa.revocation", LO_CALL): lambda c, f, s: f.consent["phone"].opted_out,
    }
    checks |= calls("tcpa.pewc", lambda consent, f: consent.status != "opt_in")
    checks |= calls("tcpa.revocation", lambda consent, f: consent.revoked_by is not None)
    checks |= calls(
        "tcpa.national_dnc", lambda consent, f: "national" in f.dnc and not consent.opted_in
    )
    return checks


@lru_cache(maxsize=8)
def _gate_for(register: Register) -> Gate:
    return Gate(register)


def decide(candidate: Candidate, facts: BorrowerFacts, register: Register) -> Decision:
    """decide() on a gate built once per register, with the bundled windows and zones."""
    return _gate_for(register).decide(candidate, facts)


class CapEntry(NamedTuple):
    """What the frequency cap reads of a would-be send (a Candidate has the same fields)."""

    message_id: str
    borrower_id: str
    campaign_id: str
    step: int
    channel: str
    send_day: date
    priority: int
    mailing_state: str | None


def apply_frequency_cap(
    gated: Sequence[tuple[Candidate | CapEntry, Decision]],
    history_sends: Mapping[str, Iterable[date]],
    register: Register,
) -> list[Decision]:
    """The frequency cap over one night's gated messages, in their order.

    history_sends: per borrower, the send day of every earlier `send` on a capped channel
    (one entry per message). Sends are kept in order of send day, priority (lower first),
    campaign id, step and message id; a send over the cap becomes a `frequency.cap` deferral.
    """
    cap = register.params("frequency.cap")
    per_day, per_30 = cap.get("per_day", 1), cap.get("per_30_days", 4)
    state_rule = (
        register.params("tcpa.state_frequency") if "tcpa.state_frequency" in register else {}
    )
    # Two consecutive send days can fall within one 24 h, so the daily cap implies the
    # states' 24-hour limit only while twice it stays within that limit.
    if state_rule and 2 * per_day > state_rule.get("per_24h", 2 * per_day):
        raise ValueError("frequency.cap per_day no longer implies tcpa.state_frequency")
    state_freq_states = frozenset(state_rule.get("states", ()))
    cap_decision = register.decision("frequency.cap")
    capped_only, with_state = ("frequency.cap",), ("frequency.cap", "tcpa.state_frequency")

    # The order as tuples compared directly (a key function costs a call per message); the
    # index last keeps equal keys in their given order, as a stable sort would.
    order = sorted(
        (c.send_day, c.priority, c.campaign_id, c.step, c.message_id, i)
        for i, (c, _) in enumerate(gated)
    )
    sent: dict[str, dict[date, int]] = {}
    out = [decision for _, decision in gated]
    for *_, i in order:
        c, d = gated[i]
        if d.decision != "send" or c.channel == LO_CALL:
            continue
        rules = (
            with_state
            if c.channel in ("sms", "phone") and c.mailing_state in state_freq_states
            else capped_only
        )
        days = sent.get(c.borrower_id)
        if days is None:
            history = history_sends.get(c.borrower_id)
            days = sent[c.borrower_id] = Counter(history) if history else {}
        day = c.send_day
        in_30 = sum(n for earlier, n in days.items() if 0 <= (day - earlier).days < 30) \
            if days else 0
        # Decision(...) field by field: _replace costs more than the rest of the loop.
        if days.get(day, 0) >= per_day or in_30 >= per_30:
            out[i] = Decision(cap_decision, "frequency.cap", d.rules_evaluated + rules, None,
                              *d[4:])
        else:
            days[day] = days.get(day, 0) + 1
            out[i] = Decision(d.decision, d.rule_id, d.rules_evaluated + rules, *d[3:])
    return out
