"""One night's outreach: enroll, find the due steps, decide each message, render what is sent.

Decisions follow COMPLIANCE.md's order: a campaign guard or an unapproved template holds; the
consent gate suppresses; a content rule blocks; the calling window or the frequency cap
defers; the rest is sent. Every message considered gets one audit record.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from pipelines.lib.campaigns import Campaign
from pipelines.lib.content_rules import ContentBlocked, ContentRules, check_content
from pipelines.lib.enrollment import (
    DueStep,
    Enrollment,
    enroll,
    is_finished,
    may_enroll,
    message_id,
    next_due,
)
from pipelines.lib.gate import (
    LO_CALL,
    NO_FACTS,
    Candidate,
    CapEntry,
    Decision,
    Gate,
    apply_frequency_cap,
    facts_by_borrower,
)
from pipelines.lib.outreach.guards import campaign_holds, reach_holds, volume_holds
from pipelines.lib.outreach.second_process import SecondProcess, pack_rows, unpack_rows
from pipelines.lib.outreach.state import NightState, first_memberships, json_values
from pipelines.lib.register import DECISION_RANK, Register
from pipelines.lib.rendering import MessageContext, RenderedMessage, Renderer

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipelines.lib.consent import Evidence
    from pipelines.lib.metrics_reach import Reach

    ReadDetails = Callable[[NightState, list[DueStep], Decimal], None]

CREDIT_PRODUCTS = frozenset({"refinance", "heloc", "investment_property"})
# Below this many due messages a second process costs more than it saves: it starts a fresh
# Python (~0.7 CPU s of imports), and this process pickles each chunk's rows for it. At 4,010
# messages (20,000 loans) the split took 1.5 s against 0.9 s in one process.
PARALLEL_FROM = 10_000
# XSELL_RENDER_PROCESSES=1 keeps the night in one process.
PROCESSES_SETTING = "XSELL_RENDER_PROCESSES"
# Messages per chunk shared with the second process: big enough that pickling a chunk's rows
# costs little beside deciding them, small enough that the two processes finish together.
CHUNK = 1_000


@dataclass
class Considered:
    """One message considered tonight: its decision, and the rendered text if it is sent."""

    due: DueStep
    campaign: Campaign
    message_id: str
    decision: str
    reason: str | None
    gate: Decision | None
    rendered: RenderedMessage | None
    loan_id: str
    send_day: date


@dataclass
class LoAlert:
    loan_officer_id: str
    borrower_id: str
    loan_id: str
    engagement_score: Decimal
    campaigns: list[str]
    decision: str
    reason: str | None


@dataclass
class NightPlan:
    as_of: date
    new_enrollments: list[Enrollment]
    rule_values: dict[str, str]
    considered: list[Considered]
    lo_alerts: list[LoAlert]
    holds: dict[str, str] = field(default_factory=dict)  # campaign -> guard rule id
    render_gate_s: float = 0.0  # wall seconds spent gating, rendering and checking content
    # campaign -> the fair-lending reach its fair_lending.reach hold was decided on
    reach_held: dict[str, Reach] = field(default_factory=dict)

    @property
    def sent(self) -> list[Considered]:
        return [c for c in self.considered if c.decision == "send"]


def _converted(state: NightState, borrower_id: str, product: str | None, days: int) -> bool:
    """Converted on the product in (as_of − days, as_of]."""
    if not product:
        return False
    start = state.as_of - timedelta(days=days)
    return any(p == product and start < d <= state.as_of
               for p, d in state.conversions.get(borrower_id, ()))


def _enroll_tonight(state: NightState, campaigns: dict[str, Campaign]
                    ) -> tuple[list[Enrollment], dict[str, str]]:
    by_key: dict[tuple[str, str], list[Enrollment]] = {}
    for e in state.enrollments:
        by_key.setdefault((e.campaign_id, e.borrower_id), []).append(e)
    new, values = [], {}
    for campaign in sorted(campaigns.values(), key=lambda c: (c.priority, c.id)):
        features = sorted(campaign.features())
        for row in state.audiences.get(campaign.id, ()):
            past = by_key.get((campaign.id, row["borrower_id"]), [])
            active = any(not _finished(state, campaign, e) for e in past)
            spread = row.get("rate_spread_bps")
            if may_enroll(campaign, row["loan_id"], spread, state.as_of, past, active):
                e = enroll(campaign, row["borrower_id"], row["loan_id"], spread, state.as_of)
                new.append(e)
                values[e.enrollment_id] = json_values(row, features)
    return new, values


def _finished(state: NightState, campaign: Campaign, e: Enrollment) -> bool:
    converted = [d for p, d in state.conversions.get(e.borrower_id, ())
                 if campaign.product and p == campaign.product]
    return is_finished(e, campaign, state.records.get(e.enrollment_id, []), converted)


def _due_steps(state: NightState, campaigns: dict[str, Campaign],
               enrollments: list[Enrollment]) -> list[DueStep]:
    due = []
    for e in enrollments:
        campaign = campaigns.get(e.campaign_id)
        if campaign is None or _finished(state, campaign, e):
            continue
        step = next_due(e, campaign, state.records.get(e.enrollment_id, []))
        if step and step.due_on <= state.as_of:
            due.append(step)
    return due


def _merge_values(loan: dict, features: dict) -> dict[str, Any]:
    """What a template may print about the loan: its attributes and tonight's features."""
    merged = {**loan, **features}
    if merged.get("market_rate") is not None:
        merged["new_term_months"] = 180 if (
            loan.get("rate_type") == "fixed" and (loan.get("term_months") or 0) <= 180) else 360
    return merged


def _person(borrower: dict) -> dict[str, Any]:
    return {k: borrower.get(k) for k in ("first_name", "last_name", "mailing_city",
                                         "mailing_state")}


_NOTHING: dict[str, Any] = {}


class _StepFacts(NamedTuple):
    """What every message of one campaign step shares, resolved once a night: the flags the
    gate and the renderer read, and the rule ids of a hold on the campaign."""

    campaign: Campaign
    channel: str
    template: str
    priority: int
    product: str | None
    consumer_credit: bool
    credit_offer: bool
    partner_referral: bool
    settlement_service_referral: bool
    heloc: bool


def _step_facts(campaign: Campaign, step: int) -> _StepFacts:
    s = campaign.steps[step]
    product = campaign.step_product(s)
    consumer_credit = campaign.step_flag(s, "consumer_credit")
    return _StepFacts(
        campaign, s.channel, s.template, campaign.priority, product, consumer_credit,
        consumer_credit or (product in CREDIT_PRODUCTS), campaign.step_flag(s, "partner_referral"),
        campaign.step_flag(s, "settlement_service_referral"),
        # As MessageContext.for_step: the HELOC rules follow the campaign's credit steps.
        campaign.heloc and consumer_credit)


class NightPlanner:
    """Holds what is built once per night (gate, renderer, rules) and decides each message."""

    # A module-level function that builds this planner again in a fresh process (night.py's
    # build_planner): a big night then shares its messages with a second process.
    build: Callable[[], NightPlanner] | None = None

    def __init__(self, campaigns: dict[str, Campaign], register: Register, renderer: Renderer,
                 content_rules: ContentRules, company: dict[str, Any],
                 lo_alert_min_score: Decimal, lo_alert_every_days: int) -> None:
        self.campaigns = campaigns
        self.register = register
        self.renderer = renderer
        self.content_rules = content_rules
        self.company = company
        self.gate = Gate(register)
        self.lo_alert_min_score = lo_alert_min_score
        self.lo_alert_every_days = lo_alert_every_days
        self._step_cache: dict[tuple[str, int], _StepFacts] = {}
        self._approved_cache: dict[tuple[int, int], tuple[Any, Any, bool]] = {}

    def plan(self, state: NightState, read_details: ReadDetails | None = None) -> NightPlan:
        """Tonight's plan. `read_details` (state.load_details on a connection) reads the
        borrowers', loans' and consent rows once the due steps are known; without it the state
        must hold them already."""
        new, values = _enroll_tonight(state, self.campaigns)
        due = _due_steps(state, self.campaigns, [*state.enrollments, *new])
        # Started now, so that its imports overlap the reading of the details and the facts.
        second = self._second_process(len(due))
        try:
            if read_details is not None:
                read_details(state, due, self.lo_alert_min_score)
            control = {e.enrollment_id: e.control for e in [*state.enrollments, *new]}
            send_day = state.as_of + timedelta(days=1)
            borrower_ids = {d.enrollment.borrower_id for d in due} | {
                r["borrower_id"] for a in state.audiences.values() for r in a}
            facts = facts_by_borrower(
                [state.borrowers[b] for b in sorted(borrower_ids) if b in state.borrowers],
                state.preferences, state.consent_events, state.dnc_numbers,
                state.servicing_rows(), state.as_of, self.register)
            state.drop_consent_rows()  # read once, into the gate's facts
            holds = campaign_holds(state, self.campaigns, due, self.register)
            started = time.perf_counter()
            considered = self._consider_all(state, due, control, facts, holds, send_day, second)
        finally:
            if second is not None:
                second.close()
        self._cap(state, considered, facts)
        render_gate_s = time.perf_counter() - started
        holds |= self._hold_unusual_volume(state, considered)
        alerts = self._lo_alerts(state, facts, send_day)
        state.rule_values.update(values)
        return NightPlan(state.as_of, new, values, considered, alerts, holds, render_gate_s)

    def _second_process(self, due: int) -> SecondProcess | None:
        """A second process for a big night, when the planner says how to build its twin."""
        if (due < PARALLEL_FROM or self.build is None
                or os.environ.get(PROCESSES_SETTING, "2") == "1" or (os.cpu_count() or 1) < 2):
            return None
        return SecondProcess(self.build)

    def _consider_all(self, state: NightState, due: list[DueStep], control: dict[str, bool],
                      facts, holds: dict[str, str], send_day: date,
                      second: SecondProcess | None = None) -> list[Considered]:
        """Every due message considered, in order. With a second process, the night splits in
        chunks that this process takes from the front and the second from the back, each sent
        with the rows its messages read; each message's decision depends only on the night's
        state, so the chunks are independent."""
        if second is None:
            return [self._consider(state, d, control, facts, holds, send_day) for d in due]
        size = max(1, min(CHUNK, -(-len(due) // 8)))  # at least 8 chunks: both get some
        chunks = [due[i:i + size] for i in range(0, len(due), size)]
        results, there = second.share(
            len(chunks),
            here=lambda i: [self._consider(state, d, control, facts, holds, send_day)
                            for d in chunks[i]],
            there=lambda i: _chunk_rows(state, chunks[i], control, facts),
            work=_consider_chunk, night=_night_constants(state, holds, send_day))
        manifests: dict[str, MappingProxyType] = {}
        for i, found in enumerate(results):
            if i not in there:
                for c in found:
                    if c.rendered:
                        manifests.setdefault(c.rendered.template_sha256,
                                             c.rendered.template_files)
        considered: list[Considered] = []
        for i, found in enumerate(results):
            if i not in there:
                considered.extend(found)
                continue
            for d, (mid, decision, reason, gated, rendered) in zip(chunks[i], found,
                                                                      strict=True):
                if rendered is not None:
                    files = manifests.setdefault(rendered.template_sha256,
                                                 MappingProxyType(rendered.template_files))
                    rendered = rendered._replace(template_files=files)
                considered.append(Considered(
                    d, self.campaigns[d.enrollment.campaign_id], mid, decision, reason, gated,
                    rendered, d.enrollment.loan_id, send_day))
        return considered

    def _hold_unusual_volume(self, state: NightState, considered: list[Considered]
                             ) -> dict[str, str]:
        batch: dict[str, int] = {}
        for c in considered:
            if c.decision == "send":
                batch[c.campaign.id] = batch.get(c.campaign.id, 0) + 1
        holds = volume_holds(state, self.campaigns, batch, self.register)
        hold_campaigns(considered, holds)
        return holds

    def hold_under_reach(self, con, state: NightState, plan: NightPlan) -> None:
        """The fair-lending reach guard over tonight's would-be sends (it reads history)."""
        sends: dict[str, list[str]] = {}
        for c in plan.sent:
            sends.setdefault(c.campaign.id, []).append(c.due.enrollment.borrower_id)
        plan.reach_held = reach_holds(con, state, self.campaigns, sends, self.register)
        holds = dict.fromkeys(plan.reach_held, "fair_lending.reach")
        hold_campaigns(plan.considered, holds)
        plan.holds |= holds

    # --- one message

    def _step(self, campaign_id: str, step: int) -> _StepFacts:
        key = (campaign_id, step)
        found = self._step_cache.get(key)
        if found is None:
            found = self._step_cache[key] = _step_facts(self.campaigns[campaign_id], step)
        return found

    def _candidate(self, state: NightState, d: DueStep, f: _StepFacts, mid: str,
                   control: bool, send_day: date) -> Candidate:
        e = d.enrollment
        borrower = state.borrowers.get(e.borrower_id, _NOTHING)
        loan = state.loans.get(e.loan_id, _NOTHING)
        get = borrower.get
        converted = bool(f.product) and e.borrower_id in state.conversions and _converted(
            state, e.borrower_id, f.product, f.campaign.exclude_converted_within_days)
        # Positional, in Candidate's field order: keywords cost a third of the decision.
        return Candidate(
            mid, e.borrower_id, f.campaign.id, d.step, f.channel, send_day, f.priority,
            f.consumer_credit, f.credit_offer, f.partner_referral,
            loan.get("status"), loan.get("servicing_status"),
            bool(get("email")), get("phone"),
            bool(get("mailing_address") and get("mailing_city") and get("mailing_state")
                 and get("mailing_zip")),
            get("mailing_state"), get("mailing_zip"), loan.get("property_state"),
            get("timezone"), control, converted)

    def _render(self, state: NightState, d: DueStep, f: _StepFacts, mid: str
                ) -> tuple[RenderedMessage | None, str | None]:
        e = d.enrollment
        loan = state.loans.get(e.loan_id, _NOTHING)
        officer = state.officers.get(loan.get("loan_officer_id") or "")
        # As MessageContext.for_step, with the step's flags resolved once a night.
        ctx = MessageContext(
            f.campaign.id, d.step, f.channel, f.template,
            _person(state.borrowers.get(e.borrower_id, _NOTHING)), officer,
            _merge_values(loan, state.features.get(e.loan_id, _NOTHING)), mid,
            f.consumer_credit, f.heloc, f.settlement_service_referral, f.partner_referral,
            f.product)
        try:
            rendered, shapes = self.renderer.render_with_shapes(ctx)
        except ContentBlocked as blocked:
            return None, blocked.rule_id
        violations = check_content(rendered, ctx, self.company, self.content_rules, shapes)
        return rendered, (violations[0].rule_id if violations else None)

    def _consider(self, state: NightState, d: DueStep, control: dict[str, bool], facts,
                  holds: dict[str, str], send_day: date) -> Considered:
        e = d.enrollment
        f = self._step(e.campaign_id, d.step)
        campaign = f.campaign
        mid = message_id(campaign.id, d.step, e.borrower_id, e.enrollment_id)
        candidate = self._candidate(state, d, f, mid, control[e.enrollment_id], send_day)
        gated = self.gate.decide(candidate, facts.get(e.borrower_id, NO_FACTS))
        rendered, blocked_by = (None, None)
        if gated.decision != "suppress":
            rendered, blocked_by = self._render(state, d, f, mid)
        decision, reason = gated.decision, gated.rule_id or "all_rules_passed"
        # The strictest outcome wins (DECISION_RANK); among equals, the first found.
        rank = DECISION_RANK[decision]
        if campaign.id in holds and DECISION_RANK["hold"] < rank:
            decision, reason, rank = "hold", holds[campaign.id], DECISION_RANK["hold"]
        if rendered and DECISION_RANK["hold"] < rank and not self._approved(
                state, rendered.template_files):
            decision, reason, rank = "hold", "content.approved", DECISION_RANK["hold"]
        if blocked_by and DECISION_RANK["block"] < rank:
            decision, reason = "block", blocked_by
        return Considered(d, campaign, mid, decision, reason, gated, rendered, e.loan_id,
                          send_day)

    def _approved(self, state: NightState, files) -> bool:
        """Whether every file of a manifest is approved; a manifest is shared by many
        messages, so each is looked up once a night."""
        approved = state.approved_templates
        key = (id(approved), id(files))
        found = self._approved_cache.get(key)
        if found is None or found[0] is not approved or found[1] is not files:
            found = self._approved_cache[key] = (approved, files, all(
                (t, h) in approved for t, h in files.items()))
        return found[2]

    def _cap(self, state: NightState, considered: list[Considered], facts) -> None:
        """The frequency cap over tonight's would-be sends, lower priority number first."""
        sends = [c for c in considered if c.decision == "send"]
        if not sends:
            return
        # The cap reads a message's ids, order, channel and state only (CapEntry).
        borrowers, steps = state.borrowers, self._step_cache
        pairs = []
        for c in sends:
            bid, step, cid = c.due.enrollment.borrower_id, c.due.step, c.campaign.id
            f = steps.get((cid, step)) or self._step(cid, step)
            pairs.append((CapEntry(
                c.message_id, bid, cid, step, f.channel, c.send_day, f.priority,
                borrowers.get(bid, _NOTHING).get("mailing_state")), c.gate))
        capped = apply_frequency_cap(pairs, state.sends_by_borrower, self.register)
        for c, decision in zip(sends, capped, strict=True):
            if decision.decision != "send":
                c.decision, c.reason, c.gate = decision.decision, decision.rule_id, decision

    # --- the loan officers' call list

    def _lo_alerts(self, state: NightState, facts, send_day: date) -> list[LoAlert]:
        """A borrower in any audience whose engagement_score reaches the bar goes on their
        officer's list, at most once per `lo_alert_every_days`."""
        audiences: dict[str, list[str]] = {}
        for cid in sorted(state.audiences):
            for row in state.audiences[cid]:
                audiences.setdefault(row["borrower_id"], []).append(cid)
        # the loan whose score counts: the one load_details read the bar against
        first_loans = first_memberships(state)
        alerts = []
        for bid, campaigns in sorted(audiences.items()):
            loan_id = first_loans[bid]
            score = state.features.get(loan_id, {}).get("engagement_score") or Decimal(0)
            officer = state.loans.get(loan_id, {}).get("loan_officer_id")
            last = state.last_lo_alert.get(bid)
            if score < self.lo_alert_min_score or not officer:
                continue
            if last and send_day - last < timedelta(days=self.lo_alert_every_days):
                continue
            borrower = state.borrowers.get(bid, {})
            candidate = Candidate(
                message_id=hashlib.sha256(f"lo|{bid}|{send_day}".encode()).hexdigest()[:24],
                borrower_id=bid, campaign_id="lo_alert", step=0, channel=LO_CALL,
                send_day=send_day, phone=borrower.get("phone"),
                mailing_state=borrower.get("mailing_state"),
                mailing_zip=borrower.get("mailing_zip"),
                property_state=state.loans.get(loan_id, {}).get("property_state"),
                timezone=borrower.get("timezone"),
                enrolled_loan_status=state.loans.get(loan_id, {}).get("status"),
                enrolled_loan_servicing=state.loans.get(loan_id, {}).get("servicing_status"))
            decided = self.gate.decide(candidate, facts.get(bid, NO_FACTS))
            alerts.append(LoAlert(officer, bid, loan_id, score,
                                  sorted(set(campaigns)), decided.decision,
                                  decided.rule_id))
        return alerts


# What a message's decision reads of the night's state, by the key it is read with; the
# second process gets these rows for each chunk's borrowers, loans and enrollments only.
_BY_BORROWER = ("borrowers", "conversions", "sends_by_borrower", "last_lo_alert")
_BY_LOAN = ("loans", "features")
_BY_ENROLLMENT = ("records", "rule_values")
# Read by enrolling, the facts and the call list, all done in the first process.
_NOT_SENT = {"audiences": {}, "enrollments": [], "preferences": [], "consent_events": [],
             "dnc_numbers": [], "loan_servicing": []}


def _pick(rows: dict, keys: set[str]) -> dict:
    return {k: rows[k] for k in keys if k in rows}


def _night_constants(state: NightState, holds: dict[str, str], send_day: date) -> tuple:
    """Sent once: the state without its per-row maps (officers, approvals, ...), the holds
    and the send day."""
    empty = dict.fromkeys((*_BY_BORROWER, *_BY_LOAN, *_BY_ENROLLMENT), {})
    return replace(state, **empty, **_NOT_SENT), holds, send_day


def _chunk_rows(state: NightState, due: list[DueStep], control: dict[str, bool], facts
                ) -> tuple:
    """One chunk for the second process: its due steps and the rows they read."""
    borrowers = {d.enrollment.borrower_id for d in due}
    loans = {d.enrollment.loan_id for d in due}
    enrollments = {d.enrollment.enrollment_id for d in due}
    rows = {name: pack_rows(_pick(getattr(state, name), keys)) for names, keys in (
        (_BY_BORROWER, borrowers), (_BY_LOAN, loans), (_BY_ENROLLMENT, enrollments))
        for name in names}
    return due, rows, _pick(control, enrollments), _pick(facts, borrowers)


def _consider_chunk(planner: NightPlanner, night: tuple, chunk: tuple) -> list[tuple]:
    """In the second process: the outcomes of one chunk's messages, small enough to send back
    (the campaign and due step stay behind; a template manifest travels as a plain dict)."""
    base, holds, send_day = night
    due, rows, control, facts = chunk
    state = replace(base, **{name: unpack_rows(packed) for name, packed in rows.items()})
    out = []
    for d in due:
        c = planner._consider(state, d, control, facts, holds, send_day)
        rendered = c.rendered
        if rendered is not None:
            rendered = rendered._replace(template_files=dict(rendered.template_files))
        out.append((c.message_id, c.decision, c.reason, c.gate, rendered))
    return out


def hold_campaigns(considered: list[Considered], holds: dict[str, str]) -> None:
    """A campaign guard holds every message of the campaign tonight: hold outranks all."""
    for c in considered:
        if c.campaign.id in holds:
            c.decision, c.reason = "hold", holds[c.campaign.id]


def audit_record(c: Considered, state: NightState, run_id: str, code_version: str
                 ) -> dict[str, Any]:
    """The audit fields of one considered message: ids and hashes, never PII or bodies."""
    # The gate's decision is read field by field, not through Decision.audit_fields(): that
    # formats the send time and consent rows of every message, and most are not sent.
    g = c.gate
    r = c.rendered if c.decision == "send" else None
    return {
        "message_id": c.message_id,
        "as_of_date": state.as_of.isoformat(),
        "run_id": run_id,
        "code_version": code_version,
        "enrollment_id": c.due.enrollment.enrollment_id,
        "campaign_id": c.campaign.id,
        "step": c.due.step,
        "channel": c.campaign.steps[c.due.step].channel,
        "borrower_id": c.due.enrollment.borrower_id,
        "loan_id": c.loan_id,
        "template_id": (c.rendered.template_id if c.rendered
                        else c.campaign.steps[c.due.step].template),
        "template_sha256": r.template_sha256 if r else None,
        "template_files": _manifest_json(r.template_files) if r else None,
        "config_sha256": c.campaign.config_sha256,
        "content_sha256": r.content_sha256 if r else None,
        "disclosures": _list_json(tuple(r.disclosures)) if r else None,
        "scheduled_for": (g.scheduled_for.isoformat() if c.decision == "send" and g
                          and g.scheduled_for else None),
        "decision": c.decision,
        "reason": c.reason,
        "rules_evaluated": _list_json(tuple(g.rules_evaluated) if g else ()),
        "rule_values": state.rule_values.get(c.due.enrollment.enrollment_id),
        "consent_rows": _evidence_json(g.consent_rows_used) if g else "[]",
        "timezone": _list_json(tuple(g.timezone) if g else ()),
        "timezone_method": g.timezone_method if g else None,
    }


# The JSON of values many records share, made once each: a night's messages share a few
# dozen template manifests, disclosure lists, rule lists and time zone lists.
@lru_cache(maxsize=4096)
def _list_json(values: tuple) -> str:
    return json.dumps(list(values))


def _evidence_json(rows: tuple[Evidence, ...]) -> str:
    """json.dumps([e.as_dict() for e in rows], sort_keys=True), written out: the keys in
    sorted order and each text escaped by the encoder json.dumps uses (once per record)."""
    if not all(type(e.key) is str and type(e.source) is str for e in rows):
        return json.dumps([e.as_dict() for e in rows], sort_keys=True)
    return "[" + ", ".join(
        f'{{"at": {_text(e.at.isoformat())}, "key": {_text(e.key)}, "source": {_text(e.source)}}}'
        for e in rows) + "]"


_text = encode_basestring_ascii  # a str as json.dumps writes it (ensure_ascii, the default)


_MANIFESTS: dict[int, tuple[Any, str]] = {}  # id(manifest) -> (manifest, its JSON)


def _manifest_json(files) -> str:
    """A template manifest's JSON; a manifest is one object shared by its messages."""
    found = _MANIFESTS.get(id(files))
    if found is None or found[0] is not files:
        if len(_MANIFESTS) > 4096:
            _MANIFESTS.clear()
        found = _MANIFESTS[id(files)] = (files, json.dumps(dict(files), sort_keys=True))
    return found[1]
