"""Campaign guards: a stale rate feed and an unusual batch hold a campaign (COMPLIANCE.md)."""

from datetime import date, timedelta

from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.enrollment import DueStep, enroll
from pipelines.lib.outreach.guards import campaign_holds, volume_holds
from pipelines.lib.outreach.state import NightState
from pipelines.lib.register import load_register

NIGHT = date(2026, 11, 27)
CAMPAIGNS = load_campaigns()
REGISTER = load_register()


def state(**overrides) -> NightState:
    base = dict(as_of=NIGHT, audiences={}, enrollments=[], rule_values={}, records={},
                features={}, loans={}, borrowers={}, officers={}, conversions={},
                sends_by_borrower={}, approved_templates=set(), last_lo_alert={})
    return NightState(**(base | overrides))


def due(campaign_id: str, loan_id: str = "L1") -> DueStep:
    e = enroll(CAMPAIGNS[campaign_id], "B1", loan_id, None, NIGHT)
    return DueStep(e, 0, NIGHT)


def test_refinance_holds_when_the_rate_is_older_than_14_days():
    fresh = state(features={"L1": {"market_rate_age_days": 14}})
    assert campaign_holds(fresh, CAMPAIGNS, [due("refinance")], REGISTER) == {}
    stale = state(features={"L1": {"market_rate_age_days": 15}})
    assert campaign_holds(stale, CAMPAIGNS, [due("refinance")], REGISTER) == {
        "refinance": "data.freshness"}
    unknown = state(features={"L1": {"market_rate_age_days": None}})
    assert campaign_holds(unknown, CAMPAIGNS, [due("refinance")], REGISTER) == {
        "refinance": "data.freshness"}


def test_campaigns_that_quote_no_rate_ignore_the_feed():
    stale = state(features={"L1": {"market_rate_age_days": 90}})
    assert campaign_holds(stale, CAMPAIGNS, [due("heloc")], REGISTER) == {}


def nights_of(sends: int, count: int) -> dict:
    nights = [NIGHT - timedelta(days=i) for i in range(count, 0, -1)]
    return dict(nights_run=nights, nightly_sends={"heloc": {n: sends for n in nights}})


def test_volume_guard_trips_over_three_times_the_median_above_the_floor():
    history = state(**nights_of(200, 14))
    # median 200: 3x is 600; the floor is 500
    assert volume_holds(history, CAMPAIGNS, {"heloc": 600}, REGISTER) == {}
    assert volume_holds(history, CAMPAIGNS, {"heloc": 601}, REGISTER) == {
        "heloc": "volume.guard"}


def test_volume_guard_needs_the_floor_and_seven_nights():
    small = state(**nights_of(100, 14))
    assert volume_holds(small, CAMPAIGNS, {"heloc": 500}, REGISTER) == {}  # 5x but not > 500
    young = state(**nights_of(10, 6))
    assert volume_holds(young, CAMPAIGNS, {"heloc": 5000}, REGISTER) == {}
    seven = state(**nights_of(10, 7))
    assert volume_holds(seven, CAMPAIGNS, {"heloc": 5000}, REGISTER) == {
        "heloc": "volume.guard"}


def test_an_approval_of_last_nights_hold_releases_tonight():
    approved = state(**nights_of(200, 14), approved_holds={("heloc", "volume.guard")})
    assert volume_holds(approved, CAMPAIGNS, {"heloc": 1000}, REGISTER) == {}
