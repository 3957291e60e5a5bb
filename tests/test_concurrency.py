"""Concurrency: one writer at a time, the second refused at once; readers neither block a night
nor see half of one.

OUTPUTS.md: "A second run while one is writing the warehouse is refused at once, naming the
holder", and "An open read-only session ... neither blocks the nightly run nor sees a
half-written night."
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date

import duckdb
import pytest

from tests.support.adversarial_night import (
    Progress,
    Slot,
    audit_verify,
    kill_group,
    ok,
    run_night,
    sample_zone,
    start_night,
    wait_for,
)

NIGHT_1, NIGHT_2 = date(2026, 9, 24), date(2026, 9, 25)
AT_ONCE = 30  # seconds: refused before any real work, even on a loaded machine


@pytest.fixture(scope="module")
def first_night(tmp_path_factory):
    """A warehouse holding NIGHT_1, as a snapshot, and the slot the module runs in."""
    root = tmp_path_factory.mktemp("concurrency")
    zone = sample_zone(root / "zone", NIGHT_2)
    slot = Slot(root / "slot")
    slot.clear()
    done = run_night(zone, slot.warehouse, slot.out, NIGHT_1)
    assert done.returncode == 0, ok(done)
    return zone, slot, slot.save(root / "night-1")


def _state(con: duckdb.DuckDBPyConnection) -> tuple:
    return (
        con.execute("select max(as_of_date) from marts.loan_features").fetchone()[0],
        con.execute("select count(*), max(seq) from outreach.messages").fetchone(),
        con.execute("select count(*) from marts.audience_heloc").fetchone()[0],
        con.execute("select list(as_of_date order by as_of_date) from outreach.nights")
        .fetchone()[0],
    )


@pytest.mark.slow
@pytest.mark.soak
def test_two_runs_started_together_one_goes_the_other_is_refused_at_once(first_night):
    zone, slot, snapshot = first_night
    slot.load(snapshot)
    runs = [start_night(zone, slot.warehouse, slot.out, NIGHT_2) for _ in range(2)]
    started = time.monotonic()
    progress = [Progress(p) for p in runs]
    try:
        assert wait_for(lambda: any(p.poll() is not None for p in runs), AT_ONCE, every=0.05), \
            "neither run was refused"
        took = time.monotonic() - started
        loser = next(i for i, p in enumerate(runs) if p.poll() is not None)
        winner = 1 - loser
        code, err = progress[loser].finish()
        assert code == 75, err
        assert took < AT_ONCE
        assert "refusing to start a second writer" in err
        holder = json.loads(err[err.index("{"):err.index("}") + 1])
        assert holder["pid"] == runs[winner].pid and holder["purpose"] == "xsell run"
        assert runs[winner].poll() is None, "the winner should still be running"
        code, err = progress[winner].finish()
        assert code == 0, err
    finally:
        for p in runs:
            kill_group(p)
    verified = audit_verify(slot.warehouse)
    assert verified.returncode == 0, verified.stderr
    assert (slot.out / NIGHT_2.isoformat() / "manifest.json").is_file()


READER = """
import duckdb, json, sys
with duckdb.connect(sys.argv[1], read_only=True) as con:
    print(json.dumps([str(con.execute("select max(as_of_date) from marts.loan_features")
                          .fetchone()[0]),
                      con.execute("select count(*) from outreach.messages").fetchone()[0]]))
"""


@pytest.mark.slow
@pytest.mark.soak
def test_a_read_only_session_held_through_a_night_keeps_the_previous_night(first_night):
    zone, slot, snapshot = first_night
    slot.load(snapshot)
    reader = duckdb.connect(str(slot.warehouse), read_only=True)
    before = _state(reader)
    assert before[0] == NIGHT_1 and before[1][0] > 0
    run = start_night(zone, slot.warehouse, slot.out, NIGHT_2)
    progress = Progress(run)
    seen, fresh = 0, None
    try:
        while run.poll() is None:
            assert _state(reader) == before  # never a half-written night, never an error
            seen += 1
            if fresh is None and progress.saw("transform"):
                # a new session opened mid-night (the DuckDB CLI, a notebook): not blocked,
                # and it sees the published night, not the one being built
                t = time.monotonic()
                done = subprocess.run([sys.executable, "-c", READER, str(slot.warehouse)],
                                      check=False, capture_output=True, text=True,
                                      timeout=120)
                assert done.returncode == 0, done.stderr
                fresh = (json.loads(done.stdout), time.monotonic() - t)
            time.sleep(0.2)
        code, err = progress.finish()
        assert code == 0, err
        assert seen > 10
        assert fresh is not None and fresh[0] == [NIGHT_1.isoformat(), before[1][0]], fresh
        assert _state(reader) == before  # still the night it opened, after the swap
    finally:
        reader.close()
        kill_group(run)
    with duckdb.connect(str(slot.warehouse), read_only=True) as reopened:
        after = _state(reopened)
    assert after[0] == NIGHT_2 and after[1][0] > before[1][0]
    assert after[3] == [NIGHT_1, NIGHT_2]


@pytest.mark.slow
@pytest.mark.soak
def test_the_run_is_not_slowed_into_failure_by_many_readers(first_night):
    """Readers opening and closing the live file all night long, as dashboards do."""
    zone, slot, snapshot = first_night
    slot.load(snapshot)
    run = start_night(zone, slot.warehouse, slot.out, NIGHT_2)
    progress = Progress(run)
    opened = 0
    try:
        while run.poll() is None:
            with duckdb.connect(str(slot.warehouse), read_only=True) as con:
                night = con.execute("select max(as_of_date) from marts.loan_features").fetchone()
                assert night[0] in (NIGHT_1, NIGHT_2)
            opened += 1
            time.sleep(0.05)
        code, err = progress.finish()
        assert code == 0, ok(subprocess.CompletedProcess([], code, "", err))
    finally:
        kill_group(run)
    assert opened > 10
