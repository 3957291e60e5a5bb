"""Campaign guards: a stale rate feed and an unusual batch hold a campaign (COMPLIANCE.md)."""

import hashlib
import statistics
from datetime import date, timedelta

import pytest

from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.enrollment import DueStep, enroll
from pipelines.lib.outreach.guards import campaign_holds, volume_holds
from pipelines.lib.outreach.state import NightState
from pipelines.lib.register import load_register
from tests.support.landing_zone import append_rows

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


# --- end to end: sixteen nights of the real CLI on a lender's own checkout
#
# The guards read the campaign files, and a justification is recorded in one, so these nights
# run `xsell` on a copy of the project (as a lender runs its checkout) with a landing zone built
# for them:
# - heloc: HELOC_DAILY loans reach their 24th month each night for two weeks, then
#   5 × HELOC_DAILY enter at once (four times as many new ones, plus the day-14 step of the
#   first night's). heloc's volume floor is 100 in this lender's file (the default, 500, and
#   the floor boundary are worked above).
# - post_close_welcome: WELCOME_DAILY loans close each night, half in a majority-minority tract
#   with no email address (so its email steps never reach them), half elsewhere with one. Once
#   each side has 30 borrowers it is held for fair-lending reach; the justification goes into
#   its file before night JUSTIFIED.
# heloc's loans have no census tract, so its reach is never judged. Before their 24th month
# they are also in investment_property (12-24 months, low LTV), which sends on the first night.

FIRST_NIGHT = date(2026, 11, 1)
HELOC_DAILY, WELCOME_DAILY = 24, 10
SPIKE, APPROVED, JUSTIFIED, LAST = 14, 15, 11, 15
MINORITY_TRACT, OTHER_TRACT = "48453000100", "48453000200"
PROJECT_PARTS = ("pipelines", "assets", "templates", "dbt_project")


def night_date(n: int) -> date:
    return FIRST_NIGHT + timedelta(days=n)


def _months_before(day: date, months: int) -> date:
    return day.replace(year=day.year - months // 12)  # whole years only, as used here


def _loan(loan_id: str, closed: date, **extra) -> dict:
    next_month = (closed.replace(day=28) + timedelta(days=4)).replace(day=1)
    first_payment = (next_month + timedelta(days=31)).replace(day=1)  # the month after next
    # 6.5 % against a 6.25 % market: too small a spread for the refinance audience
    return {"loan_id": loan_id, "borrower_id": "B" + loan_id, "close_date": closed,
            "status_date": closed, "first_payment_date": first_payment, "note_rate": "6.500",
            **extra}


def _heloc_loans(n: int) -> list[dict]:
    """The loans reaching their 24th month on night n (the spike night has five times as
    many entering as usual, counting the day-14 step due to the first night's)."""
    count = HELOC_DAILY * (4 if n == SPIKE else 1)
    return [_loan(f"H{n:02d}{i:03d}", _months_before(night_date(n), 24)) for i in range(count)]


def _welcome(n: int) -> tuple[list[dict], list[dict]]:
    """Loans closing on night n, with their borrowers: even ones in the minority tract."""
    loans, borrowers = [], []
    for i in range(WELCOME_DAILY):
        minority = i % 2 == 0
        loan = _loan(f"W{n:02d}{i:03d}", night_date(n),
                     property_census_tract=MINORITY_TRACT if minority else OTHER_TRACT)
        loans.append(loan)
        borrowers.append({"borrower_id": loan["borrower_id"],
                          **({"email": ""} if minority else {})})
    return loans, borrowers


class Nights:
    """The project copy, its landing zone, and the nights run on them."""

    def __init__(self, base):
        import shutil

        from pipelines.lib.paths import PROJECT_ROOT
        from tests.support.landing_zone import write_landing_zone

        self.project = base / "checkout"
        for part in PROJECT_PARTS:
            shutil.copytree(PROJECT_ROOT / part, self.project / part,
                            ignore=shutil.ignore_patterns("target", "logs", "__pycache__"))
        shutil.copy(PROJECT_ROOT / "pyproject.toml", self.project)  # Dagster finds defs by it
        heloc = self.project / "assets" / "campaigns" / "heloc.yaml"
        heloc.write_text(heloc.read_text() + "volume_floor: 100\n")
        self.zone, self.warehouse, self.exports = (
            base / "zone", base / "warehouse.duckdb", base / "exports")
        heloc_loans = [loan for n in range(LAST + 1) for loan in _heloc_loans(n)]
        approvals = [
            {"template_id": p.relative_to(self.project / "templates").as_posix(),
             "template_sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
             "status": "approved", "reviewed_by": "compliance officer",
             "reviewed_at": "2026-10-01T12:00:00Z"}
            for p in sorted((self.project / "templates").rglob("*.j2"))]
        write_landing_zone(
            self.zone, night_date(0),
            borrowers=[{"borrower_id": loan["borrower_id"]} for loan in heloc_loans],
            loans=heloc_loans,
            market_rates=[{"rate_date": "2026-10-25", "product": p, "rate": r, "apr": a}
                          for p, r, a in (("fixed_30", "6.25", "6.40"),
                                          ("fixed_15", "5.50", "5.62"))],
            hpi=[{"geo_level": "cbsa", "geo_code": "12420", "period_start": "2024-10-01",
                  "index_value": "300"},
                 {"geo_level": "cbsa", "geo_code": "12420", "period_start": "2026-07-01",
                  "index_value": "330", "published_on": "2026-10-31"}],
            census_tracts=[{"census_tract": MINORITY_TRACT, "minority_pct": "80.0"},
                           {"census_tract": OTHER_TRACT, "minority_pct": "20.0"}],
            template_approvals=approvals)
        self.codes: dict[int, int] = {}
        self.send_files: dict[int, dict[str, bytes]] = {}

    def xsell(self, *args: str) -> int:
        import os
        import subprocess
        import sys

        env = os.environ | {"PYTHONPATH": str(self.project)}
        env.pop("XSELL_TEMPLATES", None)
        done = subprocess.run([sys.executable, "-m", "pipelines.cli", *args,
                               "--warehouse", str(self.warehouse)],
                              cwd=self.project, env=env, capture_output=True, text=True,
                              timeout=900, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.returncode

    def night(self, n: int) -> None:
        self.xsell("run", "--input", str(self.zone), "--out", str(self.exports),
                   "--as-of", night_date(n).isoformat())
        folder = self.exports / night_date(n).isoformat()
        self.send_files[n] = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    def justify_welcome(self) -> None:
        """A reviewer's justification, with name and date, in the campaign's file."""
        path = self.project / "assets" / "campaigns" / "post_close_welcome.yaml"
        path.write_text(path.read_text() + (
            "fair_lending_review:\n"
            "  justification: email-only welcome; borrowers without an address get the "
            "printed closing packet\n"
            "  reviewer: Dana Whitfield (Compliance)\n"
            f"  reviewed_on: '{night_date(JUSTIFIED - 1).isoformat()}'\n"))

    def run(self) -> None:
        for n in range(LAST + 1):
            loans, borrowers = _welcome(n)
            append_rows(self.zone, "borrowers", [
                {**landing_defaults("borrowers"), **b} for b in borrowers])
            append_rows(self.zone, "loans", [{**landing_defaults("loans"), **loan}
                                         for loan in loans])
            if n == JUSTIFIED:
                self.justify_welcome()
            if n == APPROVED:
                self.xsell("approve", "heloc", "--as-of", night_date(SPIKE).isoformat(),
                           "--by", "ops lead")
            self.night(n)
        self.before_rerun = (self.outreach_tables(), self.send_files[LAST])
        self.night(LAST)  # a rerun of the last night

    def outreach_tables(self) -> dict[str, tuple]:
        return {t: self.query(f"select count(*), sum(hash(t)) from outreach.{t} as t")[0]
                for t in ("messages", "enrollments", "lo_alerts")}

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        import duckdb

        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def decisions(self, campaign: str) -> dict[int, dict[tuple[str, str], int]]:
        """Per night: (decision, reason) -> messages, for one campaign."""
        found: dict[int, dict[tuple[str, str], int]] = {n: {} for n in range(LAST + 1)}
        for night, decision, reason, count in self.query(
                "select as_of_date, decision, reason, count(*) from outreach.messages "
                "where campaign_id = ? group by all", [campaign]):
            found[(night - FIRST_NIGHT).days][(decision, reason)] = count
        return found

    def exported(self, n: int, campaign: str) -> int:
        """Rows of that campaign in night n's email.csv."""
        import csv
        import io

        rows = csv.DictReader(io.StringIO(self.send_files[n]["email.csv"].decode()))
        return sum(r["campaign_id"] == campaign for r in rows)


def landing_defaults(source: str) -> dict:
    from tests.support.landing_zone import DEFAULTS

    return DEFAULTS.get(source, {})


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    nights = Nights(tmp_path_factory.mktemp("guards"))
    nights.run()
    return nights


def _sent(by_reason: dict[tuple[str, str], int]) -> int:
    return sum(n for (decision, _), n in by_reason.items() if decision == "send")


@pytest.mark.slow
def test_two_steady_weeks_then_a_five_fold_batch_trips_the_breaker(nights):
    heloc = nights.decisions("heloc")
    steady = [_sent(heloc[n]) for n in range(SPIKE)]
    assert len(steady) == 14 and min(steady) > 0
    median = statistics.median(steady)
    # control borrowers (about 5 %) are suppressed, so a steady night sends a little under 24
    assert HELOC_DAILY * 0.85 <= median <= HELOC_DAILY
    held = heloc[SPIKE].get(("hold", "volume.guard"), 0)
    assert _sent(heloc[SPIKE]) == 0
    assert 4.5 <= held / median <= 5.5 and held > 100  # five times the median, over the floor
    assert nights.exported(SPIKE, "heloc") == 0
    # the other campaign still exported that night
    assert _sent(nights.decisions("post_close_welcome")[SPIKE]) > 0
    assert nights.exported(SPIKE, "post_close_welcome") > 0
    report = nights.send_files[SPIKE]["report.html"].decode()
    holds = report[report.index('<section id="holds"'):]
    assert '<td class="held">volume.guard</td>' in holds[:holds.index("</section>")]


@pytest.mark.slow
def test_an_approval_releases_the_held_batch_the_next_night(nights):
    heloc = nights.decisions("heloc")
    held = heloc[SPIKE][("hold", "volume.guard")]
    assert ("hold", "volume.guard") not in heloc[APPROVED]
    assert _sent(heloc[APPROVED]) >= held  # the held messages, and tonight's new ones
    assert nights.exported(APPROVED, "heloc") == _sent(heloc[APPROVED])
    assert nights.query("select campaign_id, as_of_date, guard, approved_by "
                        "from outreach.approvals") == [
        ("heloc", night_date(SPIKE), "volume.guard", "ops lead")]


def _reach_sides(n: int) -> tuple[int, int]:
    """Eligible welcome borrowers with a known tract by night n, minority and other: the
    loans close WELCOME_DAILY a night, half in each tract, and stay eligible for 30 nights."""
    return (WELCOME_DAILY // 2 * (n + 1),) * 2


@pytest.mark.slow
def test_under_reaching_minority_tracts_holds_the_campaign_while_others_export(nights):
    welcome = nights.decisions("post_close_welcome")
    held_nights = [n for n in range(LAST + 1)
                   if ("hold", "fair_lending.reach") in welcome[n]]
    # held from the first night with 30 borrowers a side (nobody in the minority tract is
    # ever reached: AIR 0) until the night its justification is on record
    first_judged = next(n for n in range(LAST + 1) if min(_reach_sides(n)) >= 30)
    assert held_nights == list(range(first_judged, JUSTIFIED))
    assert all(_sent(welcome[n]) > 0 for n in range(1, first_judged))
    for n in held_nights:
        assert _sent(welcome[n]) == 0 and nights.exported(n, "post_close_welcome") == 0
        assert nights.exported(n, "heloc") > 0  # heloc still exported
    row = nights.query(
        "select reach_minority_eligible, reach_minority_reached, reach_other_eligible, "
        "reach_air, reach_flagged from marts.campaign_metrics "
        "where campaign_id = 'post_close_welcome' and as_of_date = ?",
        [night_date(first_judged)])[0]
    assert row[:3] == (_reach_sides(first_judged)[0], 0, _reach_sides(first_judged)[1])
    assert row[3] == 0 and row[4] is True


@pytest.mark.slow
def test_recording_a_justification_releases_it(nights):
    welcome = nights.decisions("post_close_welcome")
    for n in range(JUSTIFIED, LAST + 1):
        assert ("hold", "fair_lending.reach") not in welcome[n]
        assert _sent(welcome[n]) > 0 and nights.exported(n, "post_close_welcome") > 0
    # the numbers alone still say so; only the recorded review lets it send
    assert nights.query("select reach_flagged from marts.campaign_metrics where "
                        "campaign_id = 'post_close_welcome' and as_of_date = ?",
                        [night_date(JUSTIFIED)]) == [(True,)]


@pytest.mark.slow
def test_the_control_group_is_stable_a_few_percent_and_never_messaged(nights):
    flags = nights.query("select campaign_id, borrower_id, list(distinct control_group) "
                         "from outreach.enrollments group by all")
    assert all(len(f[2]) == 1 for f in flags)  # the same answer on every enrollment
    # between 3 % and 7 % of each audience of 150 or more, night by night
    judged = set()
    for (cid,) in nights.query("select distinct campaign_id from outreach.enrollments"):
        for night, size, control in nights.query(f"""
                select a.as_of_date, count(*), count(*) filter (where e.control_group)
                from marts.audience_{cid} as a
                left join outreach.enrollments as e using (campaign_id, borrower_id)
                group by 1"""):
            if size >= 150:
                judged.add(cid)
                assert 0.03 <= control / size <= 0.07, (cid, night, control, size)
    # heloc from its seventh night; investment_property holds the heloc loans before their
    # 24th month (12-24 months, low LTV)
    assert judged == {"heloc", "investment_property"}
    # never messaged: a control enrollment's message is suppressed as control_group (or,
    # on a night its campaign was held, held with the rest: a hold outranks everything), and
    # no send file of any night carries a control borrower for that campaign
    decided = nights.query("""
        select distinct m.decision, m.reason from outreach.messages as m
        join outreach.enrollments as e using (enrollment_id) where e.control_group""")
    assert ("suppress", "control_group") in decided
    assert {d for d, _ in decided} <= {"suppress", "hold"}
    assert {r for d, r in decided if d == "suppress"} == {"control_group"}
    control = set(nights.query("select campaign_id, borrower_id from outreach.enrollments "
                               "where control_group"))
    assert len(control) >= 10
    import csv
    import io

    for files in nights.send_files.values():
        for name, body in files.items():
            if name.endswith(".csv") and name != "lo_call_list.csv":
                rows = csv.DictReader(io.StringIO(body.decode()))
                assert not [r for r in rows if (r["campaign_id"], r["borrower_id"]) in control]


@pytest.mark.slow
def test_a_rerun_changes_no_enrollment_message_or_file(nights):
    tables, files = nights.before_rerun
    assert nights.outreach_tables() == tables
    assert nights.send_files[LAST] == files
