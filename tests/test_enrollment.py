"""Enrollment rules and drip timing, worked by hand from RULES.md."""

from datetime import date, timedelta
from decimal import Decimal

from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.enrollment import (
    StepRecord,
    enroll,
    in_control_group,
    is_finished,
    may_enroll,
    message_id,
    next_due,
)

CAMPAIGNS = load_campaigns()
NIGHT = date(2026, 11, 27)


def test_first_step_is_due_on_enrollment_plus_its_offset():
    welcome = CAMPAIGNS["post_close_welcome"]
    e = enroll(welcome, "B1", "L1", None, NIGHT)
    due = next_due(e, welcome, [])
    assert (due.step, due.due_on) == (0, date(2026, 11, 28))  # day 1


def test_a_deferral_shifts_the_steps_after_it():
    heloc = CAMPAIGNS["heloc"]  # steps on days 0, 14, 30
    e = enroll(heloc, "B1", "L1", None, NIGHT)
    records = [StepRecord(e.enrollment_id, 0, NIGHT, "defer"),
               StepRecord(e.enrollment_id, 0, NIGHT + timedelta(days=1), "defer"),
               StepRecord(e.enrollment_id, 0, NIGHT + timedelta(days=2), "send")]
    due = next_due(e, heloc, records)
    # sent two nights late, so step 1 comes 14 days after that night, not after enrollment
    assert (due.step, due.due_on) == (1, date(2026, 12, 13))


def test_hold_and_defer_do_not_finish_a_step_but_suppress_does():
    refi = CAMPAIGNS["refinance"]  # steps on days 0 and 2
    e = enroll(refi, "B1", "L1", Decimal("80"), NIGHT)
    held = [StepRecord(e.enrollment_id, 0, NIGHT, "hold")]
    assert next_due(e, refi, held).step == 0
    suppressed = [StepRecord(e.enrollment_id, 0, NIGHT, "suppress")]
    assert (next_due(e, refi, suppressed).step, next_due(e, refi, suppressed).due_on) == (
        1, date(2026, 11, 29))


def test_enrollment_ends_after_its_last_step_or_a_conversion():
    refi = CAMPAIGNS["refinance"]
    e = enroll(refi, "B1", "L1", Decimal("80"), NIGHT)
    both = [StepRecord(e.enrollment_id, 0, NIGHT, "send"),
            StepRecord(e.enrollment_id, 1, NIGHT + timedelta(days=2), "send")]
    assert next_due(e, refi, both) is None and is_finished(e, refi, both, [])
    assert is_finished(e, refi, [], [NIGHT + timedelta(days=1)])
    assert not is_finished(e, refi, [], [NIGHT - timedelta(days=1)])


def test_once_per_loan_never_enrolls_the_same_loan_twice():
    insurance = CAMPAIGNS["insurance"]
    past = [enroll(insurance, "B1", "L1", None, NIGHT - timedelta(days=400))]
    assert not may_enroll(insurance, "L1", None, NIGHT, past, active=False)
    assert may_enroll(insurance, "L2", None, NIGHT, past, active=False)


def test_reenrollment_after_365_days_exactly():
    heloc = CAMPAIGNS["heloc"]
    past = [enroll(heloc, "B1", "L1", None, NIGHT - timedelta(days=365))]
    assert may_enroll(heloc, "L1", None, NIGHT, past, active=False)
    past = [enroll(heloc, "B1", "L1", None, NIGHT - timedelta(days=364))]
    assert not may_enroll(heloc, "L1", None, NIGHT, past, active=False)
    assert not may_enroll(heloc, "L1", None, NIGHT, [], active=True)


def test_refinance_reenrolls_sooner_when_the_spread_grew_25_bps():
    refi = CAMPAIGNS["refinance"]
    past = [enroll(refi, "B1", "L1", Decimal("80.00"), NIGHT - timedelta(days=30))]
    assert not may_enroll(refi, "L1", Decimal("104.99"), NIGHT, past, active=False)
    assert may_enroll(refi, "L1", Decimal("105.00"), NIGHT, past, active=False)
    past = [enroll(refi, "B1", "L1", Decimal("80.00"), NIGHT - timedelta(days=90))]
    assert may_enroll(refi, "L1", Decimal("80.00"), NIGHT, past, active=False)


def test_control_group_is_stable_and_near_its_share():
    drawn = [in_control_group(f"B{i}", "heloc", 0.05) for i in range(20000)]
    assert drawn == [in_control_group(f"B{i}", "heloc", 0.05) for i in range(20000)]
    assert 0.04 < sum(drawn) / len(drawn) < 0.06


def test_message_id_is_deterministic_and_distinct_per_step():
    assert message_id("refinance", 0, "B1", "e1") == message_id("refinance", 0, "B1", "e1")
    assert message_id("refinance", 0, "B1", "e1") != message_id("refinance", 1, "B1", "e1")
    assert len(message_id("refinance", 0, "B1", "e1")) == 24
