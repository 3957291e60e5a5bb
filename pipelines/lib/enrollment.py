"""Enrollments and drips: who is enrolled tonight, and which step of each enrollment is due.

An enrollment is written once, the night it starts, and never changed. Its progress is read
from the audit log: a step is done once a night decided `send`, `suppress` or `block` for it;
`hold` and `defer` leave it to be considered again the next night.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from pipelines.lib.campaigns import Campaign, Reenrollment

DONE = frozenset({"send", "suppress", "block"})


@dataclass(frozen=True)
class Enrollment:
    enrollment_id: str
    campaign_id: str
    borrower_id: str
    loan_id: str
    enrolled_on: date
    control: bool
    rate_spread_bps: Decimal | None
    config_sha256: str


@dataclass(frozen=True)
class StepRecord:
    """One night's decision on one step of an enrollment (a row of the audit log)."""

    enrollment_id: str
    step: int
    as_of_date: date
    decision: str


@dataclass(frozen=True)
class DueStep:
    enrollment: Enrollment
    step: int
    due_on: date


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def enrollment_id(campaign_id: str, borrower_id: str, enrolled_on: date) -> str:
    return _digest("enrollment", campaign_id, borrower_id, enrolled_on.isoformat())[:20]


def message_id(campaign_id: str, step: int, borrower_id: str, enrollment: str) -> str:
    """The same message keeps its id on every night it is considered."""
    # _digest's text, written out: this runs once per message considered.
    return hashlib.sha256(
        f"message|{campaign_id}|{step}|{borrower_id}|{enrollment}".encode()).hexdigest()[:24]


def in_control_group(borrower_id: str, campaign_id: str, share: float) -> bool:
    """A stable draw per borrower and campaign, so control is the same night after night."""
    draw = int(_digest("control", campaign_id, borrower_id)[:12], 16) / float(1 << 48)
    return draw < share


def steps_done(records: list[StepRecord]) -> dict[int, date]:
    """Step → the night it was done."""
    done: dict[int, date] = {}
    for r in sorted(records, key=lambda r: r.as_of_date):
        if r.decision in DONE and r.step not in done:
            done[r.step] = r.as_of_date
    return done


def next_due(enrollment: Enrollment, campaign: Campaign, records: list[StepRecord]
             ) -> DueStep | None:
    """The next step and the night it falls due. A step waits for the one before it; a late
    step shifts the ones after it by the same delay."""
    done = steps_done(records)
    step = len(done)
    if step >= len(campaign.steps):
        return None
    if step == 0:
        due_on = enrollment.enrolled_on + timedelta(days=campaign.steps[0].day)
    else:
        gap = campaign.steps[step].day - campaign.steps[step - 1].day
        due_on = done[step - 1] + timedelta(days=gap)
    return DueStep(enrollment, step, due_on)


def is_finished(enrollment: Enrollment, campaign: Campaign, records: list[StepRecord],
                converted_on: list[date]) -> bool:
    """After its last step, or once the borrower converted on the campaign's product."""
    if len(steps_done(records)) >= len(campaign.steps):
        return True
    return any(enrollment.enrolled_on <= d for d in converted_on)


def may_enroll(campaign: Campaign, loan_id: str, spread: Decimal | None, as_of: date,
               past: list[Enrollment], active: bool) -> bool:
    """One enrollment at a time per borrower and campaign, then the re-enrollment rule."""
    if active:
        return False
    if not past:
        return True
    rule = campaign.reenrollment
    if rule == "once_per_loan":
        return all(e.loan_id != loan_id for e in past)
    assert isinstance(rule, Reenrollment)
    last = max(past, key=lambda e: e.enrolled_on)
    if as_of >= last.enrolled_on + timedelta(days=rule.after_days):
        return True
    grew = (rule.or_spread_grew_bps is not None and spread is not None
            and last.rate_spread_bps is not None
            and spread - last.rate_spread_bps >= Decimal(str(rule.or_spread_grew_bps)))
    return grew


def enroll(campaign: Campaign, borrower_id: str, loan_id: str, spread: Decimal | None,
           as_of: date) -> Enrollment:
    return Enrollment(
        enrollment_id=enrollment_id(campaign.id, borrower_id, as_of),
        campaign_id=campaign.id, borrower_id=borrower_id, loan_id=loan_id, enrolled_on=as_of,
        control=in_control_group(borrower_id, campaign.id, campaign.control_share),
        rate_spread_bps=spread, config_sha256=campaign.config_sha256,
    )
