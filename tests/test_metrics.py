"""marts.campaign_metrics and fair-lending reach, recomputed by hand on a small history."""

import json
import math
import random
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pytest

from pipelines.lib.campaigns import Campaign
from pipelines.lib.metrics import (
    MetricsSettings,
    audience_history,
    build_campaign_metrics,
    campaign_metrics_rows,
)
from pipelines.lib.metrics_reach import fair_lending_reach, judge_reach
from pipelines.lib.metrics_sources import Tonight
from pipelines.lib.metrics_stats import newcombe_difference, two_proportion_z, wilson
from pipelines.lib.outreach.state import ensure_schema

N1, N2, N3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
AS_OF = N3
SETTINGS = MetricsSettings()


def _campaign(cid: str, product: str | None, steps: list[dict]) -> Campaign:
    return Campaign.model_validate({
        "id": cid, "product": product, "priority": 1,
        "trigger": [{"feature": "status", "op": "=", "value": "funded"}], "steps": steps})


CAMPAIGNS = {
    "refinance": _campaign("refinance", "refinance", [
        {"day": 0, "channel": "email", "template": "refi"},
        {"day": 2, "channel": "sms", "template": "refi_sms"}]),
    "insurance": _campaign("insurance", "insurance", [
        {"day": 0, "channel": "email", "template": "ins"}]),
    # a product only on its second step
    "welcome": _campaign("welcome", None, [
        {"day": 1, "channel": "email", "template": "hello"},
        {"day": 14, "channel": "email", "template": "ins_intro", "product": "insurance"}]),
}

TABLES = {
    "marts.loan_features": "as_of_date date, loan_id varchar",
    "staging.stg_raw__engagement_events": (
        "event_id varchar, borrower_id varchar, campaign_id varchar, event_type varchar, "
        "occurred_at timestamp, occurred_on date, detail varchar"),
    "staging.stg_raw__conversions": (
        "borrower_id varchar, product varchar, converted_at date, campaign_id varchar, "
        "revenue decimal(18, 2)"),
    "staging.stg_raw__loans": (
        "loan_id varchar, borrower_id varchar, property_census_tract varchar, status varchar, "
        "status_date date, close_date date"),
    "staging.stg_raw__census_tracts": "census_tract varchar, minority_pct decimal(5, 2)",
}


def make_warehouse(con: duckdb.DuckDBPyConnection, campaigns=("refinance", "insurance",
                                                                  "welcome")) -> None:
    """The empty tables a night's metrics read."""
    con.execute("create schema if not exists marts; create schema if not exists staging")
    ensure_schema(con)
    for name, columns in TABLES.items():
        con.execute(f"create table {name} ({columns})")
    for cid in campaigns:
        con.execute(f"create table marts.audience_{cid} (as_of_date date, campaign_id varchar, "
                    "borrower_id varchar, loan_id varchar)")


def insert(con, table: str, rows: list[dict]) -> None:
    for row in rows:
        con.execute(f"insert into {table} ({', '.join(row)}) values "
                    f"({', '.join('?' for _ in row)})", list(row.values()))


def audience(con, cid: str, night: date, borrowers: list[str]) -> None:
    insert(con, f"marts.audience_{cid}", [
        {"as_of_date": night, "campaign_id": cid, "borrower_id": b, "loan_id": f"L{b[1:]}"}
        for b in borrowers])


def message(night: date, cid: str, step: int, borrower: str, decision: str,
            reason: str = "all_rules_passed") -> dict:
    return {"as_of_date": night, "campaign_id": cid, "step": step, "borrower_id": borrower,
            "decision": decision, "reason": reason, "message_id": f"{cid}{step}{borrower}{night}"}


def enrollment(cid: str, borrower: str, on: date, control: bool = False) -> dict:
    return {"as_of_date": on, "enrollment_id": f"{cid}{borrower}{on}", "campaign_id": cid,
            "borrower_id": borrower, "loan_id": f"L{borrower[1:]}", "enrolled_on": on,
            "control_group": control}


def event(borrower: str, cid: str | None, kind: str, on: date, detail: str | None = None
          ) -> dict:
    return {"event_id": f"{borrower}{cid}{kind}{on}{detail}", "borrower_id": borrower,
            "campaign_id": cid, "event_type": kind, "occurred_on": on, "detail": detail}


def conversion(borrower: str, product: str, on: date, revenue: str | None) -> dict:
    return {"borrower_id": borrower, "product": product, "converted_at": on,
            "revenue": None if revenue is None else Decimal(revenue)}


def loan(loan_id: str, borrower: str, status: str, status_date: date,
         close_date: date | None) -> dict:
    return {"loan_id": loan_id, "borrower_id": borrower, "status": status,
            "status_date": status_date, "close_date": close_date}


MESSAGES = [
    # night 1
    message(N1, "refinance", 0, "B1", "send"),
    message(N1, "refinance", 0, "B2", "suppress", "control_group"),
    message(N1, "refinance", 0, "B3", "send"),
    message(N1, "insurance", 0, "B1", "send"),
    # night 2
    message(N2, "refinance", 1, "B1", "send"),
    message(N2, "refinance", 0, "B4", "defer", "frequency.cap"),
    # night 3 (tonight)
    message(N3, "refinance", 0, "B4", "send"),
    message(N3, "refinance", 0, "B5", "suppress", "canspam.optout"),
    message(N3, "refinance", 1, "B3", "hold", "volume.guard"),
    # long ago: last-touch windows
    message(date(2026, 6, 15), "insurance", 0, "B7", "send"),   # reaches B7 on 06-16
    message(date(2026, 6, 30), "welcome", 1, "B7", "send"),     # reaches B7 on 07-01: latest
    message(date(2026, 6, 30), "welcome", 1, "B8", "send"),     # reaches B8 on 07-01
    message(date(2026, 9, 30), "welcome", 0, "B9", "send"),     # step 0 sells nothing
]

ENROLLMENTS = [
    enrollment("refinance", "B1", N1), enrollment("refinance", "B3", N1),
    enrollment("refinance", "B2", N1, control=True),
    enrollment("refinance", "B11", N1, control=True),
    enrollment("refinance", "B10", date(2026, 6, 1), control=True),
    enrollment("refinance", "B4", N2), enrollment("refinance", "B5", N3),
    enrollment("insurance", "B1", N1),
]

EVENTS = [
    event("B1", "refinance", "email_open", N3), event("B4", "refinance", "email_open", N3),
    event("B4", "refinance", "email_click", N3),
    event("B1", "refinance", "sms_reply", N3, "yes please"),
    event("B3", "refinance", "sms_reply", N3, "Stop."),     # a reply and an opt-out
    event("B1", "refinance", "unsubscribe", N3),
    event("B1", "refinance", "email_bounce", N3),           # not an opt-out
    event("B2", None, "email_open", N3),                    # no campaign: nobody's
    event("B4", "refinance", "email_open", N2),             # another night
]

CONVERSIONS = [
    conversion("B1", "refinance", N3, "1000"),   # last touch: refinance night 2 (reaches N3)
    conversion("B3", "refinance", N2, "3000"),   # reached on N2 by night 1's send: same day
    conversion("B4", "refinance", N3, "500"),    # sent tonight, reaches tomorrow: not credited
    conversion("B1", "insurance", N2, "50"),     # insurance, night 1
    conversion("B6", "insurance", N3, "20"),     # never sent
    conversion("B7", "insurance", date(2026, 9, 29), "100"),  # 90 days after 07-01: welcome
    conversion("B8", "insurance", date(2026, 9, 30), "200"),  # 91 days: nobody
    conversion("B9", "insurance", date(2026, 10, 5), None),   # welcome step 0 sells nothing
    conversion("B2", "refinance", N2, "800"),    # control, 1 day after enrolling
    conversion("B10", "refinance", date(2026, 9, 15), "700"),  # control, 106 days: too late
    conversion("B1", "heloc", date(2025, 11, 3), "999"),  # 365 days before: outside the year
    conversion("B21", "refinance", date(2025, 9, 6), None),   # 59 days before B21's payoff
    conversion("B33", "insurance", date(2024, 2, 1), "10"),   # B33 converted after closing
]

LOANS = [
    loan("L1", "B1", "paid_off", N1, date(2020, 1, 1)),          # recaptured (B1 refi N3)
    loan("L1b", "B1", "funded", N2, N2),
    loan("L2", "B2", "funded", date(2021, 1, 1), date(2021, 1, 1)),
    loan("L3", "B3", "paid_off", date(2026, 8, 1), date(2019, 1, 1)),  # refi 93 days later
    loan("L4", "B4", "funded", date(2020, 5, 1), date(2020, 5, 1)),
    loan("L5", "B5", "funded", date(2020, 5, 1), date(2020, 5, 1)),
    loan("L20", "B20", "paid_off", date(2025, 11, 1), date(2018, 1, 1)),  # before the year
    loan("L21", "B21", "paid_off", date(2025, 11, 4), date(2018, 1, 1)),  # recaptured
    loan("L22", "B22", "paid_off", date(2026, 11, 4), date(2019, 1, 1)),  # still held on N3
    loan("L30", "B30", "funded", date(2023, 11, 3), date(2023, 11, 3)),   # 36 months exactly
    loan("L31", "B31", "paid_off", date(2025, 1, 1), date(2022, 11, 4)),
    loan("L32", "B32", "funded", date(2022, 11, 3), date(2022, 11, 3)),   # 48 months: out
    loan("L33", "B33", "paid_off", date(2024, 1, 1), date(2023, 6, 1)),
    loan("L34", "B34", "paid_off", date(2026, 12, 1), date(2023, 6, 1)),
    loan("L35a", "B35", "paid_off", date(2022, 1, 1), date(2021, 1, 1)),
    loan("L35b", "B35", "funded", date(2023, 6, 1), date(2023, 6, 1)),
    loan("L40", "B40", "processing", N3, None),
    loan("L41", "B41", "funded", date(2026, 11, 10), date(2026, 11, 10)),  # funds after N3
]


def build_history(con: duckdb.DuckDBPyConnection, with_tonight: bool = True) -> None:
    make_warehouse(con)
    insert(con, "marts.loan_features", [{"as_of_date": n, "loan_id": "L1"} for n in (N1, N2, N3)])
    audience(con, "refinance", N1, ["B1", "B2", "B3"])
    audience(con, "refinance", N2, ["B1", "B2", "B4"])
    audience(con, "refinance", N3, ["B2", "B4", "B5"])
    audience(con, "insurance", N1, ["B1"])  # empty on N2
    audience(con, "insurance", N3, ["B1"])
    insert(con, "outreach.messages",
           [m for m in MESSAGES if with_tonight or m["as_of_date"] != N3])
    insert(con, "outreach.enrollments",
           [e for e in ENROLLMENTS if with_tonight or e["as_of_date"] != N3])
    insert(con, "staging.stg_raw__engagement_events", EVENTS)
    insert(con, "staging.stg_raw__conversions", CONVERSIONS)
    insert(con, "staging.stg_raw__loans", LOANS)


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        build_history(connection)
        yield connection


@pytest.fixture(scope="module")
def metrics():
    with duckdb.connect() as connection:
        build_history(connection)
        rows = campaign_metrics_rows(connection, AS_OF, CAMPAIGNS, SETTINGS)
    return {r["campaign_id"]: r for r in rows}


# --- statistics against published values


def test_wilson_interval_matches_newcombe_1998():
    # Newcombe (1998), Statistics in Medicine 17:857, 81/263: 0.2553 to 0.3662
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_newcombe_difference_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, 56/70 − 48/80, method 10: 0.0524 to 0.3339
    d, low, high = newcombe_difference(56, 70, 48, 80)
    assert (round(d, 4), round(low, 4), round(high, 4)) == (0.2, 0.0524, 0.3339)
    assert newcombe_difference(1, 0, 1, 3) is None


def test_two_proportion_z_by_hand():
    # 20/40 vs 40/50: pooled 2/3, variance (2/3)(1/3)(1/40 + 1/50) = 0.01, z = −0.3/0.1
    assert two_proportion_z(20, 40, 40, 50) == pytest.approx(-3.0)
    assert two_proportion_z(0, 40, 0, 50) is None  # nobody reached on either side


# --- audience


def test_audience_size_entered_and_left(metrics):
    refi = metrics["refinance"]
    # N2 {B1, B2, B4} → N3 {B2, B4, B5}
    assert (refi["audience_size"], refi["audience_entered"], refi["audience_left"]) == (3, 1, 1)
    assert refi["borrowers_eligible_to_date"] == 5  # B1..B5


def test_an_empty_night_counts_as_the_previous_night(con):
    # insurance: {B1} on N1, nobody on N2 (a night that was built), {B1} on N3
    history = audience_history(con, AS_OF, ["insurance", "refinance"], days=90)
    assert history["insurance"] == [(N1, 1, 1, 0), (N2, 0, 0, 1), (N3, 1, 1, 0)]
    assert history["refinance"] == [(N1, 3, 3, 0), (N2, 3, 1, 1), (N3, 3, 1, 1)]


# --- messages


def test_messages_by_decision_and_reason(metrics):
    refi = metrics["refinance"]
    assert (refi["messages_considered"], refi["messages_sent"], refi["messages_suppressed"],
            refi["messages_held"], refi["messages_deferred"], refi["messages_blocked"]) == (
        3, 1, 1, 1, 0, 0)
    assert json.loads(refi["messages_by_reason"]) == {
        "hold": {"volume.guard": 1}, "send": {"all_rules_passed": 1},
        "suppress": {"canspam.optout": 1}}
    assert metrics["welcome"]["messages_considered"] == 0


# --- engagement


def test_engagement_tonight_by_campaign(metrics):
    refi = metrics["refinance"]
    assert (refi["opens"], refi["clicks"], refi["replies"]) == (2, 1, 2)
    # B3's STOP reply and B1's unsubscribe; B1's bounce is not an opt-out
    assert refi["opt_outs"] == 2
    # both were sent before they opted out: B1, B3 of the 3 borrowers sent (B1, B3, B4)
    assert refi["borrowers_opted_out_to_date"] == 2
    assert refi["opt_out_rate"] == pytest.approx(2 / 3)
    assert metrics["insurance"]["opens"] == 0


# --- conversions


def test_last_touch_credits_the_latest_send_on_the_product(metrics):
    refi, insurance, welcome = (metrics[c] for c in ("refinance", "insurance", "welcome"))
    # refinance: B1 (N3) and B3 (N2, reached that very day); B4 is reached only tomorrow
    assert (refi["conversions"], refi["revenue"]) == (1, Decimal("1000.00"))
    assert (refi["conversions_to_date"], refi["revenue_to_date"]) == (2, Decimal("4000.00"))
    assert refi["borrowers_sent_to_date"] == 3
    assert refi["borrowers_converted_to_date"] == 2
    assert refi["conversion_rate"] == pytest.approx(2 / 3)
    assert refi["revenue_per_conversion"] == Decimal("2000.00")
    # insurance: B1 (night 1); B7's later welcome touch wins over insurance's older one
    assert (insurance["conversions_to_date"], insurance["revenue_to_date"]) == (
        1, Decimal("50.00"))
    # welcome: B7 exactly 90 days after the touch counts, B8 at 91 does not, and step 0 of
    # welcome (B9) sells no product
    assert (welcome["conversions_to_date"], welcome["revenue_to_date"]) == (
        1, Decimal("100.00"))
    assert welcome["borrowers_sent_to_date"] == 3  # B7, B8, B9
    assert welcome["conversion_rate"] == pytest.approx(1 / 3)


def test_the_attribution_window_is_a_setting(con):
    rows = campaign_metrics_rows(con, AS_OF, CAMPAIGNS, MetricsSettings(attribution_days=91))
    welcome = next(r for r in rows if r["campaign_id"] == "welcome")
    assert welcome["conversions_to_date"] == 2  # B8's 91st day now counts


def test_treated_against_control_with_a_newcombe_interval(metrics):
    refi = metrics["refinance"]
    # control: B2 converted 1 day after enrolling; B10 after 106 days (too late); B11 never
    assert (refi["control_borrowers"], refi["control_converted"]) == (3, 1)
    assert refi["control_rate"] == pytest.approx(1 / 3)
    assert refi["borrowers_enrolled_to_date"] == 4  # B1, B3, B4, B5 (treated)
    expected = newcombe_difference(2, 3, 1, 3)
    assert refi["lift"] == pytest.approx(1 / 3)
    assert (refi["lift_low"], refi["lift_high"]) == pytest.approx(expected[1:])
    assert refi["lift_low"] < 0 < refi["lift_high"]  # 3 borrowers a side prove nothing
    assert metrics["insurance"]["lift"] is None  # no control group


# --- portfolio


def test_refinance_recapture(metrics):
    refi = metrics["refinance"]
    # payoffs in (N3 − 365, N3]: L1, L3, L21 (L20 is a year and 2 days old; L22 pays off
    # tomorrow). Recaptured: L1 (refi 2 days after), L21 (refi 59 days before); L3's is 93
    # days after.
    assert (refi["recapture_payoffs"], refi["recapture_recaptured"]) == (3, 2)
    assert refi["refinance_recapture_rate"] == pytest.approx(2 / 3)


def test_recapture_window_boundary(con):
    insert(con, "staging.stg_raw__loans", [loan("L50", "B50", "paid_off", N1, N1)])
    insert(con, "staging.stg_raw__conversions", [
        conversion("B50", "refinance", N1 + timedelta(days=60), "1")])
    # the refi is 60 days after the payoff but after as_of, so not yet
    row = campaign_metrics_rows(con, AS_OF, CAMPAIGNS, SETTINGS)[0]
    assert (row["recapture_payoffs"], row["recapture_recaptured"]) == (4, 2)
    # 60 days on: payoffs L1, L3, L22, L34, L50; L50's refi on the 60th day counts
    later = campaign_metrics_rows(con, N1 + timedelta(days=60), CAMPAIGNS, SETTINGS)[0]
    assert (later["recapture_payoffs"], later["recapture_recaptured"]) == (5, 2)
    shorter = campaign_metrics_rows(con, N1 + timedelta(days=60), CAMPAIGNS,
                                    MetricsSettings(recapture_window_days=59))[0]
    assert shorter["recapture_recaptured"] == 1


def test_ancillary_revenue_per_borrower(metrics):
    row = metrics["refinance"]
    # every product but refinance in (N3 − 365, N3]: 50 + 20 + 100 + 200 (+ B9's null)
    assert row["ancillary_revenue"] == Decimal("370.00")
    # holding a funded loan on N3: B1, B2, B4, B5, B22 (paid off tomorrow), B30, B32, B34,
    # B35; not B41 (funds after N3) nor B40 (processing)
    assert row["portfolio_borrowers"] == 9
    assert row["ancillary_revenue_per_borrower"] == Decimal("41.11")
    assert metrics["insurance"]["ancillary_revenue"] == row["ancillary_revenue"]  # portfolio


def test_three_year_retention(metrics):
    row = metrics["refinance"]
    # first close in (N3 − 48 months, N3 − 36 months]: B30 (36 exactly), B31, B33, B34;
    # not B32 (48 exactly) nor B35 (first loan in 2021). Retained: B30 (funded), B33
    # (converted after closing), B34 (paid off only after N3); not B31.
    assert (row["retention_cohort"], row["retention_retained"]) == (4, 3)
    assert row["retention_3yr_rate"] == pytest.approx(0.75)


# --- the table


def test_build_replaces_that_night_only(con):
    assert build_campaign_metrics(con, N2, CAMPAIGNS, SETTINGS) == 3
    assert build_campaign_metrics(con, N3, CAMPAIGNS, SETTINGS) == 3
    before = con.execute("select * from marts.campaign_metrics where as_of_date = ? "
                         "order by campaign_id", [N2]).fetchall()
    assert build_campaign_metrics(con, N3, CAMPAIGNS, SETTINGS) == 3
    assert con.execute("select as_of_date, count(*) from marts.campaign_metrics "
                       "group by 1 order by 1").fetchall() == [(N2, 3), (N3, 3)]
    assert con.execute("select * from marts.campaign_metrics where as_of_date = ? "
                       "order by campaign_id", [N2]).fetchall() == before
    reasons = con.execute(
        "select decision, reason, messages from marts.campaign_message_reasons "
        "where as_of_date = ? and campaign_id = 'refinance' order by 1", [N3]).fetchall()
    assert reasons == [("hold", "volume.guard", 1), ("send", "all_rules_passed", 1),
                       ("suppress", "canspam.optout", 1)]


def test_a_night_not_yet_stored_reads_the_same_from_the_plan():
    stored = duckdb.connect()
    build_history(stored)
    planned = duckdb.connect()
    build_history(planned, with_tonight=False)
    tonight = Tonight(
        N3,
        tuple((m["campaign_id"], m["step"], m["borrower_id"], m["decision"], m["reason"])
              for m in MESSAGES if m["as_of_date"] == N3),
        tuple((e["campaign_id"], e["borrower_id"], e["loan_id"], e["enrolled_on"],
               e["control_group"]) for e in ENROLLMENTS if e["as_of_date"] == N3))
    assert campaign_metrics_rows(planned, N3, CAMPAIGNS, SETTINGS, tonight) == \
        campaign_metrics_rows(stored, N3, CAMPAIGNS, SETTINGS)
    assert campaign_metrics_rows(planned, N3, CAMPAIGNS, SETTINGS) != \
        campaign_metrics_rows(stored, N3, CAMPAIGNS, SETTINGS)


def test_a_disabled_campaign_gets_no_row(con):
    # pmi_removal and arm_reset ship disabled: even with an audience and old sends on record,
    # a disabled campaign is neither in the rows nor in the table
    retired = CAMPAIGNS["insurance"].model_copy(update={"id": "retired", "enabled": False})
    con.execute("create table marts.audience_retired as select * from marts.audience_insurance")
    insert(con, "outreach.messages", [message(N3, "retired", 0, "B1", "send")])
    with_retired = CAMPAIGNS | {"retired": retired}
    rows = campaign_metrics_rows(con, AS_OF, with_retired, SETTINGS)
    assert [r["campaign_id"] for r in rows] == ["insurance", "refinance", "welcome"]
    assert build_campaign_metrics(con, AS_OF, with_retired, SETTINGS) == 3
    assert con.execute("select count(*) from marts.campaign_metrics "
                       "where campaign_id = 'retired'").fetchone() == (0,)
    enabled = retired.model_copy(update={"enabled": True})
    assert "retired" in [r["campaign_id"] for r in campaign_metrics_rows(
        con, AS_OF, CAMPAIGNS | {"retired": enabled}, SETTINGS)]


# --- a generated history, recomputed from OUTPUTS.md's definitions


def _generated_history(seed: int):
    """Random sends, conversions and payoffs around AS_OF (a few land on its boundaries)."""
    rng = random.Random(seed)
    steps = [("refinance", 0), ("refinance", 1), ("insurance", 0), ("welcome", 0),
             ("welcome", 1)]
    borrowers = [f"B{i}" for i in range(80)]
    messages = []
    for i in range(400):
        cid, step = rng.choice(steps)
        night = AS_OF - timedelta(days=rng.randint(0, 200))
        decision = rng.choice(["send", "send", "send", "defer", "suppress"])
        messages.append(message(night, cid, step, rng.choice(borrowers), decision) |
                        {"message_id": f"m{i}"})
    def revenue() -> str:
        return f"{rng.randint(0, 500000) / 100:.2f}"

    conversions = [
        conversion(rng.choice(borrowers), rng.choice(["refinance", "insurance", "heloc"]),
                   AS_OF - timedelta(days=rng.randint(-5, 200)), revenue())
        for _ in range(80)]
    # half again placed on the attribution window's edges after a random message
    for m in rng.sample(messages, 80):
        product = "insurance" if m["campaign_id"] != "refinance" else "refinance"
        reached = m["as_of_date"] + timedelta(days=1)
        conversions.append(conversion(m["borrower_id"], product, reached + timedelta(
            days=rng.choice([-1, 0, 1, 89, 90, 91])), revenue()))
    payoffs = [loan(f"P{i}", rng.choice(borrowers), "paid_off",
                    AS_OF - timedelta(days=rng.randint(-10, 420)), date(2015, 1, 1))
               for i in range(60)]
    # and refinances on the recapture window's edges around some payoffs
    for p in rng.sample(payoffs, 20):
        conversions.append(conversion(p["borrower_id"], "refinance", p["status_date"] +
                                      timedelta(days=rng.choice([-61, -60, 60, 61])), None))
    return messages, conversions, payoffs


def _expected(messages, conversions, payoffs, s: MetricsSettings) -> dict:
    """The figures by hand: plain Python over the rows, one definition at a time."""
    product = {("refinance", 0): "refinance", ("refinance", 1): "refinance",
               ("insurance", 0): "insurance", ("welcome", 0): None,
               ("welcome", 1): "insurance"}
    sends = [m for m in messages if m["decision"] == "send" and m["as_of_date"] <= AS_OF]
    found = {cid: {"sent_tonight": 0, "borrowers_sent": set(), "converted": set(),
                   "conversions": 0, "revenue": Decimal("0")}
             for cid in ("refinance", "insurance", "welcome")}
    for m in sends:
        found[m["campaign_id"]]["borrowers_sent"].add(m["borrower_id"])
        found[m["campaign_id"]]["sent_tonight"] += m["as_of_date"] == AS_OF
    for c in conversions:
        if c["converted_at"] > AS_OF:
            continue
        # last touch: the latest send of that product reaching the borrower (the day after
        # its night) within the 90 days up to the conversion
        touches = [(m["as_of_date"] + timedelta(days=1), m["campaign_id"]) for m in sends
                   if m["borrower_id"] == c["borrower_id"]
                   and product[(m["campaign_id"], m["step"])] == c["product"]
                   and 0 <= (c["converted_at"] - m["as_of_date"] - timedelta(days=1)).days
                   <= s.attribution_days]
        if touches:
            latest = max(day for day, _ in touches)
            cid = min(cid for day, cid in touches if day == latest)
            found[cid]["converted"].add(c["borrower_id"])
            found[cid]["conversions"] += 1
            found[cid]["revenue"] += c["revenue"] or 0
    period = [p for p in payoffs
              if 0 <= (AS_OF - p["status_date"]).days < s.recapture_period_days]
    recaptured = [p for p in period if any(
        c["borrower_id"] == p["borrower_id"] and c["product"] == "refinance"
        and c["converted_at"] <= AS_OF
        and abs((c["converted_at"] - p["status_date"]).days) <= s.recapture_window_days
        for c in conversions)]
    return {"campaigns": found, "payoffs": len(period), "recaptured": len(recaptured)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_generated_history_matches_the_definitions(seed):
    messages, conversions, payoffs = _generated_history(seed)
    with duckdb.connect() as con:
        make_warehouse(con)
        insert(con, "outreach.messages", messages)
        insert(con, "staging.stg_raw__conversions", conversions)
        insert(con, "staging.stg_raw__loans", payoffs)
        rows = {r["campaign_id"]: r for r in campaign_metrics_rows(con, AS_OF, CAMPAIGNS,
                                                                    SETTINGS)}
    expected = _expected(messages, conversions, payoffs, SETTINGS)
    credited = 0
    for cid, e in expected["campaigns"].items():
        row = rows[cid]
        assert row["messages_sent"] == e["sent_tonight"]
        assert row["borrowers_sent_to_date"] == len(e["borrowers_sent"])
        assert row["conversions_to_date"] == e["conversions"], cid
        assert row["revenue_to_date"] == e["revenue"]
        assert row["borrowers_converted_to_date"] == len(e["converted"])
        assert row["conversion_rate"] == pytest.approx(
            len(e["converted"]) / len(e["borrowers_sent"]))
        credited += e["conversions"]
    assert credited >= 10  # the history does exercise last touch
    assert (rows["refinance"]["recapture_payoffs"],
            rows["refinance"]["recapture_recaptured"]) == (
        expected["payoffs"], expected["recaptured"])
    assert 0 < expected["recaptured"] < expected["payoffs"]
    assert rows["refinance"]["refinance_recapture_rate"] == pytest.approx(
        expected["recaptured"] / expected["payoffs"])


# --- fair-lending reach

MINORITY, OTHER, UNKNOWN = "48201000100", "48201000200", "48201000300"


def reach_warehouse(sides: dict[str, tuple[int, int]]) -> duckdb.DuckDBPyConnection:
    """Borrowers per tract (eligible, reached), each eligible on one night of the window and
    each reached one sent three messages (borrowers are counted, not messages)."""
    con = duckdb.connect()
    make_warehouse(con, campaigns=("refinance",))
    insert(con, "staging.stg_raw__census_tracts", [
        {"census_tract": MINORITY, "minority_pct": Decimal("50.00")},   # ≥ 50: minority side
        {"census_tract": OTHER, "minority_pct": Decimal("49.99")}])
    n = 0
    for tract, (eligible, reached) in sides.items():
        for i in range(eligible):
            n += 1
            borrower, night = f"R{n}", AS_OF - timedelta(days=n % 30)  # all inside 30 nights
            insert(con, "staging.stg_raw__loans", [
                {"loan_id": f"L{n}", "borrower_id": borrower, "property_census_tract": tract,
                 "status": "funded", "status_date": N1, "close_date": N1}])
            audience(con, "refinance", night, [borrower])
            if i < reached:
                insert(con, "outreach.messages", [
                    message(night, "refinance", step, borrower, "send") for step in (0, 1)]
                    + [message(night, "refinance", 1, borrower, "send")])
    return con


def test_reach_by_hand_air_and_z():
    con = reach_warehouse({MINORITY: (40, 20), OTHER: (50, 40), UNKNOWN: (10, 10)})
    reach = fair_lending_reach(con, AS_OF, "refinance")
    # 10 borrowers in a tract with no census row are left out of both sides
    assert (reach.minority_eligible, reach.minority_reached) == (40, 20)
    assert (reach.other_eligible, reach.other_reached) == (50, 40)
    assert reach.air == pytest.approx(0.5 / 0.8)  # 0.625
    assert reach.z == pytest.approx(-3.0)  # (0.5 − 0.8) / √((2/3)(1/3)(1/40 + 1/50))
    assert reach.held


def test_reach_holds_on_air_alone_and_needs_thirty_a_side():
    # 3/30 vs 5/30: AIR 0.6 but z only −0.76
    reach = judge_reach("refinance", AS_OF, 30, (30, 3), (30, 5))
    assert reach.air == pytest.approx(0.6)
    pooled = 8 / 60
    assert reach.z == pytest.approx((0.1 - 5 / 30) / math.sqrt(pooled * (1 - pooled) / 15))
    assert reach.held
    assert not judge_reach("refinance", AS_OF, 30, (29, 0), (300, 250)).held
    assert not judge_reach("refinance", AS_OF, 30, (30, 24), (30, 27)).held  # AIR 0.89, z −1.1


def test_reach_counts_the_trailing_window_and_the_latest_loan():
    con = reach_warehouse({MINORITY: (30, 29), OTHER: (30, 30)})
    old = AS_OF - timedelta(days=30)  # one night before the window
    # eligible only before the window: not counted; sent only before the window: not reached
    audience(con, "refinance", old, ["R900"])
    insert(con, "staging.stg_raw__loans", [
        {"loan_id": "L900", "borrower_id": "R900", "property_census_tract": MINORITY,
         "status": "funded", "status_date": N1, "close_date": N1}])
    insert(con, "outreach.messages", [message(old, "refinance", 0, "R30", "send")])
    # R2 moved: tonight's audience row is for a loan in the other tract
    insert(con, "staging.stg_raw__loans", [
        {"loan_id": "L2b", "borrower_id": "R2", "property_census_tract": OTHER,
         "status": "funded", "status_date": N1, "close_date": N1}])
    insert(con, "marts.audience_refinance", [
        {"as_of_date": AS_OF, "campaign_id": "refinance", "borrower_id": "R2", "loan_id": "L2b"}])
    reach = fair_lending_reach(con, AS_OF, "refinance")
    assert (reach.minority_eligible, reach.minority_reached) == (29, 28)
    assert (reach.other_eligible, reach.other_reached) == (31, 31)
    assert not reach.held


def test_reach_with_tonight_from_the_plan():
    con = reach_warehouse({MINORITY: (30, 0), OTHER: (30, 0)})
    stored = fair_lending_reach(con, AS_OF, "refinance")
    assert (stored.minority_reached, stored.other_reached, stored.held) == (0, 0, False)
    # tonight's would-be batch reaches only the other side
    tonight_sent = [f"R{n}" for n in range(31, 61)]
    planned = fair_lending_reach(con, AS_OF, "refinance", tonight_sent=tonight_sent)
    assert (planned.minority_reached, planned.other_reached) == (0, 30)
    assert planned.held and planned.air == 0.0
