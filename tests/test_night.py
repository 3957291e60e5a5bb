"""The nightly run end to end: Dagster assets, dbt on DuckDB, history by night, refusals."""

import hashlib
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from tests.support.landing_zone import write_landing_zone

NIGHT_1 = date(2026, 11, 26)
NIGHT_2 = date(2026, 11, 27)

ZONE = dict(
    borrowers=[{"borrower_id": "B1"}, {"borrower_id": "B2", "mailing_state": "CA"}],
    loans=[
        # closed exactly 24 months before NIGHT_2; 23 months before NIGHT_1
        {"loan_id": "L1", "borrower_id": "B1", "close_date": "2024-11-27",
         "first_payment_date": "2025-01-01", "status_date": "2024-11-27"},
        {"loan_id": "L2", "borrower_id": "B2", "close_date": "2026-05-01",
         "first_payment_date": "2026-06-01", "note_rate": "7.5", "original_amount": "450000"},
    ],
    market_rates=[{"rate_date": "2026-11-20", "product": "fixed_30", "rate": "6.25",
                   "apr": "6.40"},
                  {"rate_date": "2026-11-20", "product": "fixed_15", "rate": "5.50",
                   "apr": "5.62"}],
    hpi=[{"geo_level": "cbsa", "geo_code": "12420", "period_start": "2024-10-01",
          "index_value": "300"},
         {"geo_level": "cbsa", "geo_code": "12420", "period_start": "2026-07-01",
          "index_value": "330", "published_on": "2026-10-31"}],
)


def run(zone: Path, warehouse: Path, as_of: date, *extra: str) -> int:
    return main(["run", "--input", str(zone), "--warehouse", str(warehouse),
                 "--out", str(warehouse.parent / "exports"), "--as-of", as_of.isoformat(),
                 *extra])


def table(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    base = tmp_path_factory.mktemp("nights")
    zone = write_landing_zone(base / "zone", NIGHT_2, **ZONE)
    warehouse = base / "warehouse.duckdb"
    assert run(zone, warehouse, NIGHT_1) == 0
    assert run(zone, warehouse, NIGHT_2) == 0
    return zone, warehouse


def test_each_night_keeps_its_own_rows(two_nights):
    _, warehouse = two_nights
    nights = table(warehouse, "select as_of_date, count(*) from marts.loan_features "
                              "group by 1 order by 1")
    assert nights == [(NIGHT_1, 2), (NIGHT_2, 2)]


def test_heloc_enters_on_the_24th_month_exactly(two_nights):
    _, warehouse = two_nights
    rows = table(warehouse, "select as_of_date, borrower_id, loan_id, months_since_close "
                            "from marts.audience_heloc order by 1")
    # 2024-11-27 → 2026-11-26 is 23 completed months; → 2026-11-27 is 24.
    assert rows == [(NIGHT_2, "B1", "L1", 24)]


def test_rerunning_the_first_night_changes_nothing(two_nights):
    zone, warehouse = two_nights
    query = "select * from marts.loan_features order by as_of_date, loan_id"
    audiences = "select * from marts.audience_refinance order by as_of_date, borrower_id"
    before = table(warehouse, query), table(warehouse, audiences)
    assert run(zone, warehouse, NIGHT_1) == 0
    assert (table(warehouse, query), table(warehouse, audiences)) == before


def test_bad_input_leaves_the_warehouse_byte_for_byte(two_nights, tmp_path, capsys):
    zone, warehouse = two_nights
    bad = write_landing_zone(tmp_path / "bad", NIGHT_2, **ZONE)
    loans = (bad / "loans.csv").read_text().replace(",7.5,", ",0.075,")
    (bad / "loans.csv").write_text(loans)
    before = digest(warehouse)
    assert run(bad, warehouse, NIGHT_2 + timedelta(days=1)) == 1
    err = capsys.readouterr().err
    assert "loans.csv" in err and "column note_rate" in err and "rule rate_in_percent" in err
    assert "1 row(s)" in err and "loan_id=L2" in err
    assert digest(warehouse) == before
    assert not (warehouse.parent / "exports" / "2026-11-28").exists()


def test_a_second_writer_is_refused_naming_the_holder(two_nights, capsys):
    zone, warehouse = two_nights
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from pipelines.lib import warehouse; "
         f"warehouse.acquire(Path({str(warehouse)!r}), 'test holder'); print('held', "
         "flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        assert run(zone, warehouse, NIGHT_2) == 75
        assert time.perf_counter() - started < 5  # refused at once, not after a night's work
        err = capsys.readouterr().err
        assert f'"pid": {holder.pid}' in err and "test holder" in err
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's lock: the next run goes ahead.
    assert run(zone, warehouse, NIGHT_2) == 0


def test_explain_names_the_deciding_rule(two_nights, capsys):
    _, warehouse = two_nights
    assert main(["explain", "B1", "--warehouse", str(warehouse), "--as-of",
                 NIGHT_1.isoformat(), "--campaign", "heloc"]) == 0
    out = capsys.readouterr().out
    assert "heloc (priority 4)" in out
    assert "trigger not met: months_since_close >= 24" in out and "months_since_close=23" in out


def test_dbt_unit_tests_pass_with_the_campaign_files(two_nights, tmp_path):
    """The hand-worked boundary rows in dbt_project/**/_*.yml, against assets/campaigns."""
    import json
    import os
    import shutil

    from pipelines.lib.campaigns import load_campaigns
    from pipelines.lib.dbt_args import dbt_vars
    from pipelines.lib.paths import DBT_PROJECT_DIR

    _, warehouse = two_nights
    scratch = tmp_path / "unit.duckdb"
    shutil.copyfile(warehouse, scratch)
    variables = json.dumps(dbt_vars(load_campaigns()))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "test", "--select", "test_type:unit",
         "--vars", variables, "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target")],
        env=os.environ | {"XSELL_WAREHOUSE": str(scratch)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    # by result, not by dbt's PASS= count, which includes the project's (Spark-only) hooks
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    assert sorted(r["status"] for r in results if r["unique_id"].startswith("unit_test.")) \
        == ["pass"] * 11


def test_the_report_is_as_private_as_the_send_files(two_nights):
    import stat

    _, warehouse = two_nights
    night = warehouse.parent / "exports" / NIGHT_2.isoformat()
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in night.iterdir()}
    assert modes["report.html"] == 0o600 and set(modes.values()) == {0o600}
    assert stat.S_IMODE(night.stat().st_mode) == 0o700


def test_a_full_refresh_keeps_the_marts_past_nights(two_nights, tmp_path):
    """`dbt build --full-refresh` rebuilds staging histories but never wipes the marts'
    earlier nights (marts are `full_refresh: false`)."""
    import json
    import os
    import shutil

    from pipelines.lib.campaigns import load_campaigns
    from pipelines.lib.dbt_args import dbt_vars
    from pipelines.lib.paths import DBT_PROJECT_DIR

    _, warehouse = two_nights
    scratch = tmp_path / "refresh.duckdb"
    shutil.copyfile(warehouse, scratch)
    sql = "select as_of_date, count(*) from marts.loan_features group by 1 order by 1"
    before = table(scratch, sql)
    assert [night for night, _ in before] == [NIGHT_1, NIGHT_2]
    with duckdb.connect(str(scratch)) as con:  # dbt builds the nights listed here
        con.execute("delete from ops.build_nights")
        con.execute("insert into ops.build_nights values (?)", [NIGHT_2])
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--full-refresh", "--select",
         "marts", "--exclude", "test_type:unit", "--vars", json.dumps(dbt_vars(load_campaigns())),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target")],
        env=os.environ | {"XSELL_WAREHOUSE": str(scratch)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert table(scratch, sql) == before


def test_every_allow_listed_feature_is_a_candidate_column(two_nights):
    from pipelines.lib.campaigns import FEATURES

    _, warehouse = two_nights
    columns = {c for (c,) in table(warehouse, "select column_name from information_schema."
                                              "columns where table_name = "
                                              "'int_audience_candidates'")}
    assert set(FEATURES) - columns == set()


def test_a_backfill_range_in_one_run_equals_the_nights_run_one_by_one(two_nights, tmp_path):
    zone, warehouse = two_nights
    backfilled = tmp_path / "backfill.duckdb"
    assert run(zone, backfilled, NIGHT_2, "--from", NIGHT_1.isoformat()) == 0
    query = "select * from marts.loan_features order by as_of_date, loan_id"
    assert table(backfilled, query) == table(warehouse, query)
    audiences = "select * from marts.audience_heloc order by as_of_date, borrower_id"
    assert table(backfilled, audiences) == table(warehouse, audiences)


def _fresh_outreach(warehouse: Path, to: Path) -> Path:
    """A copy of the warehouse as it was before any night's outreach."""
    copy = to / "warehouse.duckdb"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(warehouse.read_bytes())
    with duckdb.connect(str(copy)) as con:
        con.execute("drop schema outreach cascade")
    return copy


def test_render_and_gate_split_over_two_processes_changes_no_byte(two_nights, tmp_path,
                                                                   monkeypatch):
    """A big night shares its messages with a second process: the send files, the report and
    the audit rows are the same as when one process decides them all, and the same again
    with XSELL_RENDER_PROCESSES=1 on a night big enough to share."""
    from pipelines.lib.outreach import plan
    from pipelines.lib.outreach.night import run_outreach

    _, warehouse = two_nights
    results, shared = {}, []
    real_chunk_rows = plan._chunk_rows

    def chunk_rows(*args):
        shared.append(len(args[1]))
        return real_chunk_rows(*args)

    monkeypatch.setattr(plan, "_chunk_rows", chunk_rows)
    for name, parallel_from, processes in (("one", 10**9, "2"), ("two", 1, "2"),
                                           ("setting", 1, "1")):
        monkeypatch.setattr(plan, "PARALLEL_FROM", parallel_from)
        monkeypatch.setenv(plan.PROCESSES_SETTING, processes)
        copy = _fresh_outreach(warehouse, tmp_path / name)
        files = {}
        for night in (NIGHT_1, NIGHT_2):
            done = run_outreach(copy, night, tmp_path / name / "exports", f"run-{night}", "v1")
            assert done.status == "done"
            files |= {f"{night}/{p.name}": digest(p) for p in sorted(done.staged.iterdir())}
        results[name] = (files, table(copy, "select * from outreach.messages order by seq"))
        # a second process decided some of the messages when split, never otherwise
        assert bool(shared) == (name == "two"), (name, shared)
        shared.clear()
    assert results["one"][1], "the nights considered no message"
    assert results["one"] == results["two"] == results["setting"]


def test_a_second_process_that_dies_stops_the_night_and_records_nothing(
        two_nights, tmp_path, monkeypatch):
    from pipelines.lib.outreach import plan
    from pipelines.lib.outreach.night import run_outreach
    from pipelines.lib.outreach.second_process import SecondProcessFailed

    _, warehouse = two_nights
    real_chunk_rows = plan._chunk_rows

    def kill_the_second_process(*args):
        """As the first chunk is sent: the second process is this one's only child."""
        import os
        import signal

        children = [int(p) for task in Path("/proc/self/task").iterdir()
                    for p in (task / "children").read_text().split()]
        for pid in children:
            if "second_process" in Path(f"/proc/{pid}/cmdline").read_text():
                os.kill(pid, signal.SIGKILL)
        return real_chunk_rows(*args)

    monkeypatch.setattr(plan, "PARALLEL_FROM", 1)
    monkeypatch.setattr(plan, "_chunk_rows", kill_the_second_process)
    copy = _fresh_outreach(warehouse, tmp_path / "killed")
    exports = tmp_path / "killed" / "exports"
    with pytest.raises(SecondProcessFailed, match=r"exited with code -9; [12] chunk\(s\) of "
                                                  r"messages undecided, so the night stops"):
        run_outreach(copy, NIGHT_1, exports, "run-1", "v1")
    assert table(copy, "select count(*) from outreach.messages") == [(0,)]
    assert table(copy, "select count(*) from outreach.nights") == [(0,)]
    assert not exports.exists() or not any(exports.iterdir())
