"""Crash and rerun: a night killed anywhere, then rerun, ends exactly as an undisturbed night.

A reference folder runs three nights undisturbed and keeps a snapshot after each. Every crash
test starts from the snapshot before its night, runs `xsell run` in a subprocess, SIGKILLs it at
one moment (a progress line, a file appearing, a dbt process running), checks that the crash
left the live warehouse and the published send files alone, reruns the night undisturbed and
compares with the reference: every file of `<out>/<as_of>/` byte for byte, the same
`outreach.*` rows (run_id and all), `xsell audit verify` ok, and a warehouse that opens.

The protocol under test (pipelines/lib/send_release.py): send files are staged, the warehouse
recording their manifest is published (the commit point), then the files are released. Killed
before the commit, nothing is published; killed after it, the rerun releases the staged files.

Also here, because it needs real nights: the audit log's tamper evidence.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.lib.audit_chain import chain
from pipelines.lib.outreach.state import ensure_schema
from pipelines.lib.outreach.store import AUDIT_COLUMNS
from tests.support.adversarial_night import (
    Progress,
    Slot,
    audit_log,
    audit_verify,
    edit_csv,
    kill_group,
    ok,
    query,
    read_csv,
    run_night,
    sample_zone,
    session_processes,
    sha256,
    staging_folders,
    start_night,
    tree,
    wait_for,
)

NIGHTS = (date(2026, 9, 10), date(2026, 9, 11), date(2026, 9, 12))
OUTREACH_TABLES = ("messages", "enrollments", "lo_alerts", "nights")
ORDER = {"messages": "seq", "enrollments": "enrollment_id",
         "lo_alerts": "loan_officer_id, borrower_id, loan_id", "nights": "as_of_date"}
WINDOW = 900  # seconds to wait for a moment to come, on a loaded machine


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """The landing zone, the slot every run of this module uses, and the reference snapshots:
    snapshots[k] is the state after k undisturbed nights (snapshots[0]: nothing yet)."""
    root = tmp_path_factory.mktemp("crash")
    zone = sample_zone(root / "zone", NIGHTS[-1])
    slot = Slot(root / "slot")
    slot.clear()
    snapshots = [slot.save(root / "ref-0")]
    for k, night in enumerate(NIGHTS, start=1):
        done = run_night(zone, slot.warehouse, slot.out, night)
        assert done.returncode == 0, ok(done)
        snapshots.append(slot.save(root / f"ref-{k}"))
    return zone, slot, snapshots


def outreach_rows(warehouse: Path) -> dict[str, list[tuple]]:
    return {t: query(warehouse, f"select * from outreach.{t} order by {ORDER[t]}")
            for t in OUTREACH_TABLES}


def assert_same_as_reference(slot: Slot, reference: Path, night: date) -> None:
    sent = tree(slot.out / night.isoformat())
    assert sent and sent == tree(reference / "out" / night.isoformat())
    ref_warehouse = reference / "warehouse.duckdb"
    assert audit_log(slot.warehouse) == audit_log(ref_warehouse)
    assert outreach_rows(slot.warehouse) == outreach_rows(ref_warehouse)
    verified = audit_verify(slot.warehouse)
    assert verified.returncode == 0, verified.stderr
    assert query(slot.warehouse, "select max(as_of_date) from marts.loan_features") == [(night,)]
    for earlier in NIGHTS:  # the nights before are untouched too
        if earlier < night:
            assert tree(slot.out / earlier.isoformat()) == \
                tree(reference / "out" / earlier.isoformat())


def working_copy(slot: Slot) -> Path:
    return slot.warehouse.with_name("warehouse.duckdb.next")


def crash(slot: Slot, zone: Path, night: date, moment, *, whole_session: bool = True) -> str:
    """Start the night, wait for `moment(progress, slot)` to say now, SIGKILL. Returns the
    progress lines printed before the kill."""
    process = start_night(zone, slot.warehouse, slot.out, night)
    progress = Progress(process)
    try:
        hit = wait_for(lambda: moment(progress, slot) or process.poll() is not None, WINDOW)
        if process.poll() is not None or not hit:
            pytest.fail(f"the run ended before the moment came:\n{progress.finish()[1]}")
        if whole_session:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
    except BaseException:
        kill_group(process)
        raise
    progress.finish()
    return "\n".join(progress.lines)


def at_line(stage: str):
    return lambda progress, slot: progress.saw(stage)


def dbt_running(progress: Progress, slot: Slot) -> bool:
    """dbt is building into the working copy: a dbt process in the run's session, tonight's
    checks passed, and the working copy has a write-ahead log."""
    if not progress.saw("validate") or progress.saw("transform"):
        return False
    if not working_copy(slot).with_name("warehouse.duckdb.next.wal").exists():
        return False
    return any(part == "dbt" or part.endswith("/dbt")
               for _, command in session_processes(progress.process.pid)
               for part in command.split()[:2])


def audit_appending(progress: Progress, slot: Slot) -> bool:
    """dbt is done and outreach writes into the working copy (its write-ahead log appears):
    enrollments and the audit rows are being appended, no send file is staged yet."""
    return (progress.saw("transform")
            and working_copy(slot).with_name("warehouse.duckdb.next.wal").exists())


def files_being_written(progress: Progress, slot: Slot) -> bool:
    return bool(staging_folders(slot.out))


def before(slot: Slot) -> tuple[str | None, dict[str, str]]:
    live = sha256(slot.warehouse) if slot.warehouse.exists() else None
    return live, tree(slot.out, skip=("validation/",))


def assert_nothing_published(slot: Slot, state: tuple, night: date) -> None:
    live, sent = state
    assert (sha256(slot.warehouse) if slot.warehouse.exists() else None) == live
    assert not (slot.out / night.isoformat()).exists()
    assert tree(slot.out, skip=("validation/", ".")) == {
        k: v for k, v in sent.items() if not k.startswith(".")}


def rerun(slot: Slot, zone: Path, night: date) -> None:
    done = run_night(zone, slot.warehouse, slot.out, night)
    assert done.returncode == 0, ok(done)


@pytest.mark.slow
@pytest.mark.soak
def test_first_night_killed_at_each_stage_before_outreach(nights):
    """Night 1 on an empty warehouse: killed as ingest ends, as validation ends, inside the dbt
    build, as dbt ends; each time nothing is published; then rerun."""
    zone, slot, snapshots = nights
    night = NIGHTS[0]
    slot.load(snapshots[0])
    state = before(slot)
    for moment in (at_line("ingest"), at_line("validate"), dbt_running, at_line("transform")):
        crash(slot, zone, night, moment)
        assert_nothing_published(slot, state, night)
    rerun(slot, zone, night)
    assert_same_as_reference(slot, snapshots[1], night)


@pytest.mark.slow
@pytest.mark.soak
def test_only_the_parent_killed_inside_dbt_then_an_immediate_rerun(nights):
    """The xsell process dies (an OOM kill, say) while its dbt child goes on writing into the
    working copy; the rerun starts at once, beside the orphan."""
    zone, slot, snapshots = nights
    night = NIGHTS[1]
    slot.load(snapshots[1])
    state = before(slot)
    process = start_night(zone, slot.warehouse, slot.out, night)
    progress = Progress(process)
    try:
        assert wait_for(lambda: dbt_running(progress, slot) or process.poll() is not None,
                        WINDOW) and process.poll() is None, progress.lines
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        orphans = session_processes(process.pid)
        assert_nothing_published(slot, state, night)
        rerun(slot, zone, night)
    finally:
        kill_group(process)  # whatever is left of the killed run's session
    assert_same_as_reference(slot, snapshots[2], night)
    print(f"dbt processes alive when the rerun started: {orphans}")


MOMENTS = {
    # night index (1-based), moment, whether the crash happens before anything is published
    "audit_rows_appended": (2, audit_appending, True),
    "send_files_being_written": (3, files_being_written, True),
    "outreach_done_files_staged": (3, at_line("outreach"), True),
    "warehouse_published_files_not": (2, at_line("publish"), False),
}


def assert_committed(slot: Slot, reference: Path, night: date) -> None:
    """Killed after the commit: the live warehouse holds the night's audit rows; its send files
    are out whole (if the kill came late) or still staged, never anything else."""
    assert audit_log(slot.warehouse) == audit_log(reference / "warehouse.duckdb")
    out = tree(slot.out / night.isoformat())
    assert out in ({}, tree(reference / "out" / night.isoformat()))
    if not out:
        assert len(staging_folders(slot.out)) == 1


@pytest.mark.slow
@pytest.mark.soak
@pytest.mark.parametrize("name", MOMENTS)
def test_killed_during_outreach_then_rerun(nights, name):
    zone, slot, snapshots = nights
    k, moment, nothing_yet = MOMENTS[name]
    night = NIGHTS[k - 1]
    slot.load(snapshots[k - 1])
    state = before(slot)
    crash(slot, zone, night, moment)
    if nothing_yet:
        assert_nothing_published(slot, state, night)
    else:
        assert_committed(slot, snapshots[k], night)
    rerun(slot, zone, night)
    assert_same_as_reference(slot, snapshots[k], night)
    assert staging_folders(slot.out) == []


@pytest.mark.slow
@pytest.mark.soak
def test_a_crashed_night_leaves_no_staged_send_files_behind(nights):
    zone, slot, snapshots = nights
    night = NIGHTS[2]
    slot.load(snapshots[2])
    crash(slot, zone, night, at_line("outreach"))
    if not staging_folders(slot.out):
        pytest.fail("the kill came before anything was staged")
    done = run_night(zone, slot.warehouse, slot.out, night)
    if done.returncode != 0 or not (slot.out / night.isoformat()).is_dir():
        pytest.fail(ok(done))
    leftovers = staging_folders(slot.out)
    assert leftovers == [], f"left behind: {[str(p) for p in leftovers]}"


def _opted_out_overnight(zone: Path, folder: Path, night: date, borrower_id: str) -> Path:
    """A copy of the zone where, before the rerun, a borrower opts out of email that night."""
    changed = folder / "zone"
    shutil.copytree(zone, changed)
    edit_csv(changed / "contact_preferences.csv", lambda header, rows: rows.append(
        {"borrower_id": borrower_id, "channel": "email", "action": "opt_out",
         "recorded_at": f"{night.isoformat()}T23:00:00Z", "source": "reply STOP"}))
    return changed


@pytest.mark.slow
@pytest.mark.soak
def test_a_rerun_after_the_commit_releases_what_the_warehouse_recorded(nights, tmp_path):
    """Killed between the warehouse commit and the release of the send files, then rerun on a
    landing zone that changed meanwhile: the files released are the ones the audit log
    records (byte for byte the undisturbed night's), never a new plan's."""
    zone, slot, snapshots = nights
    night = NIGHTS[1]
    slot.load(snapshots[1])
    live = sha256(slot.warehouse)
    crash(slot, zone, night, at_line("publish"))
    if sha256(slot.warehouse) == live:
        pytest.fail("the kill came before the warehouse was published")
    reference = tree(snapshots[2] / "out" / night.isoformat())
    _, emailed = read_csv(snapshots[2] / "out" / night.isoformat() / "email.csv")
    if not emailed:
        pytest.fail("no email was sent that night")
    changed = _opted_out_overnight(zone, tmp_path, night, emailed[0]["borrower_id"])
    done = run_night(changed, slot.warehouse, slot.out, night)
    assert done.returncode == 0, ok(done)
    assert tree(slot.out / night.isoformat()) == reference
    assert audit_log(slot.warehouse) == audit_log(snapshots[2] / "warehouse.duckdb")
    assert staging_folders(slot.out) == []
    assert audit_verify(slot.warehouse).returncode == 0


@pytest.mark.slow
@pytest.mark.soak
def test_published_send_files_are_never_replaced_by_a_rerun(nights, tmp_path):
    """The warehouse lost a night whose files are out (restored from an older copy, say); a
    rerun whose plan differs is refused, and the published files stay as they are."""
    zone, slot, snapshots = nights
    night = NIGHTS[1]
    slot.load(snapshots[2])
    shutil.copyfile(snapshots[1] / "warehouse.duckdb", slot.warehouse)  # the night is lost
    live, published = sha256(slot.warehouse), tree(slot.out / night.isoformat())
    _, emailed = read_csv(slot.out / night.isoformat() / "email.csv")
    changed = _opted_out_overnight(zone, tmp_path, night, emailed[0]["borrower_id"])
    done = run_night(changed, slot.warehouse, slot.out, night)
    assert done.returncode == 1, ok(done)
    assert "already published" in done.stderr and "not replaced" in done.stderr
    assert tree(slot.out / night.isoformat()) == published
    assert sha256(slot.warehouse) == live
    assert staging_folders(slot.out) == []


# --- tamper evidence


def _verify(warehouse: Path, in_process: bool = True) -> tuple[int, str, str]:
    """`xsell audit verify`: (exit code, stdout, stderr). In this process (the same main() the
    console script calls) for the fast tests, as a subprocess for the slow ones."""
    if not in_process:
        done = audit_verify(warehouse)
        return done.returncode, done.stdout, done.stderr
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["audit", "verify", "--warehouse", str(warehouse),
                     "--out", str(warehouse.parent / "out")])
    return code, out.getvalue(), err.getvalue()


def _verify_fails_at(warehouse: Path, position: int, record: str | None,
                     in_process: bool = True) -> str:
    code, out, err = _verify(warehouse, in_process)
    assert code == 1, out + err
    assert f"(position {position})" in err, err
    if record is not None:
        assert f"record {record} " in err, err
    return err


EDITS = {
    # column -> an SQL expression for the edited value, same type
    "message_id": "message_id || 'x'",
    "as_of_date": "as_of_date + interval 1 day",
    "run_id": "run_id || 'x'",
    "code_version": "code_version || 'x'",
    "campaign_id": "'insurance_x'",
    "step": "step + 1",
    "channel": "'sms'",
    "borrower_id": "'B-someone-else'",
    "loan_id": "'L-other'",
    "enrollment_id": "enrollment_id || 'x'",
    "template_id": "'heloc/other.email.j2'",
    "template_sha256": "repeat('0', 64)",
    "template_files": "'{}'",
    "config_sha256": "repeat('1', 64)",
    "content_sha256": "repeat('2', 64)",
    "disclosures": "'[]'",
    "scheduled_for": "'2030-01-01T09:00:00-05:00'",
    "decision": "case when decision = 'send' then 'suppress' else 'send' end",
    "reason": "'consent.ok'",
    "rules_evaluated": "'[]'",
    "rule_values": "'{}'",
    "consent_rows": "'[]'",
    "timezone": "'UTC'",
    "timezone_method": "'forged'",
    "prev_hash": "repeat('a', 64)",
    "record_hash": "repeat('b', 64)",
}


def _tampered(source: Path, folder: Path, *statements: str) -> Path:
    copy = folder / "tampered.duckdb"
    shutil.copyfile(source, copy)
    with duckdb.connect(str(copy)) as con:
        for sql in statements:
            con.execute(sql)
    return copy


def _synthetic_log(folder: Path, records: int = 12) -> tuple[Path, list[str]]:
    """A warehouse whose audit log holds `records` chained rows shaped as the night writes
    them, for the fast tamper tests."""
    rows = []
    for i in range(records):
        rows.append({c: None for c in AUDIT_COLUMNS if c not in ("seq", "prev_hash",
                                                                  "record_hash")}
                    | {"message_id": f"m{i:03d}", "as_of_date": "2026-09-10", "run_id": "r1",
                       "code_version": "0.1.0+abc", "enrollment_id": f"e{i}",
                       "campaign_id": "heloc", "step": i % 3, "channel": "email",
                       "borrower_id": f"B{i}", "loan_id": f"L{i}", "template_id": "t",
                       "template_sha256": "a1" * 32, "template_files": '{"t": "a1"}',
                       "config_sha256": "c" * 64, "content_sha256": "d" * 64,
                       "disclosures": '["afba"]', "scheduled_for": "2026-09-11T09:00:00-04:00",
                       "decision": "send", "reason": "ok", "rules_evaluated": '["gate"]',
                       "rule_values": '{"months": 24}', "consent_rows": '[{"row": 1}]',
                       "timezone": "America/Chicago", "timezone_method": "state"})
    linked = chain(rows)
    path = folder / "synthetic.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_schema(con)
        con.executemany(f"insert into outreach.messages ({', '.join(AUDIT_COLUMNS)}) values "
                        f"({', '.join('?' for _ in AUDIT_COLUMNS)})",
                        [[r[c] for c in AUDIT_COLUMNS] for r in linked])
        # the night's row, with the chain's head after it, as store_plan records it
        con.execute("insert into outreach.nights (as_of_date, run_id, chain_records, "
                    "chain_head) values ('2026-09-10', 'r1', ?, ?)",
                    [len(linked), linked[-1]["record_hash"]])
    return path, [r["message_id"] for r in linked]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return _synthetic_log(tmp_path_factory.mktemp("audit"))


def test_the_synthetic_log_verifies(synthetic):
    path, ids = synthetic
    code, out, err = _verify(path)
    assert code == 0 and f"{len(ids)} record(s)" in out, err


@pytest.mark.parametrize("column", EDITS)
def test_any_edited_field_breaks_the_chain_there(synthetic, tmp_path, column):
    path, _ = synthetic
    k = 5
    copy = _tampered(path, tmp_path,
                     f"update outreach.messages set {column} = {EDITS[column]} where seq = {k}")
    edited_id = query(copy, "select message_id from outreach.messages where seq = ?", [k])[0][0]
    _verify_fails_at(copy, k, edited_id)


def test_an_edited_seq_breaks_the_chain_there(synthetic, tmp_path):
    path, ids = synthetic
    copy = _tampered(path, tmp_path, "update outreach.messages set seq = 99 where seq = 5")
    _verify_fails_at(copy, 5, ids[6])  # position 5 now holds record 6, out of place


@pytest.mark.parametrize("k", [0, 5])
def test_a_deleted_record_breaks_the_chain_at_the_next(synthetic, tmp_path, k):
    path, ids = synthetic
    copy = _tampered(path, tmp_path, f"delete from outreach.messages where seq = {k}")
    _verify_fails_at(copy, k, ids[k + 1])


def test_two_records_with_swapped_seq_break_the_chain(synthetic, tmp_path):
    path, ids = synthetic
    copy = _tampered(path, tmp_path,
                     "update outreach.messages set seq = case seq when 3 then 8 else 3 end "
                     "where seq in (3, 8)")
    _verify_fails_at(copy, 3, ids[8])


def test_an_inserted_record_breaks_the_chain(synthetic, tmp_path):
    path, _ = synthetic
    copy = _tampered(path, tmp_path,
                     "update outreach.messages set seq = seq + 1 where seq >= 4",
                     "insert into outreach.messages select * replace (4 as seq, 'forged' as "
                     "message_id) from outreach.messages where seq = 5")
    _verify_fails_at(copy, 4, "forged")


def test_deleting_the_newest_record_is_detected(synthetic, tmp_path):
    path, ids = synthetic
    copy = _tampered(path, tmp_path, f"delete from outreach.messages where seq = {len(ids) - 1}")
    err = _verify_fails_at(copy, len(ids) - 1, None)
    assert "deleted from its end" in err and "night 2026-09-10" in err


def test_a_record_appended_outside_a_night_is_detected(synthetic, tmp_path):
    path, ids = synthetic
    copy = _tampered(path, tmp_path, "delete from outreach.nights")
    _verify_fails_at(copy, 0, ids[0])


def test_an_edit_with_the_chain_recomputed_is_detected(synthetic, tmp_path):
    from pipelines.lib.outreach.store import audit_rows

    path, _ = synthetic
    copy = tmp_path / "rechained.duckdb"
    shutil.copyfile(path, copy)
    with duckdb.connect(str(copy)) as con:
        records = list(audit_rows(con))
        for r in records:
            for field in ("seq", "prev_hash", "record_hash"):
                r.pop(field)
        records[5]["decision"] = "suppress"
        relinked = chain(records)
        con.execute("delete from outreach.messages")
        con.executemany(f"insert into outreach.messages ({', '.join(AUDIT_COLUMNS)}) values "
                        f"({', '.join('?' for _ in AUDIT_COLUMNS)})",
                        [[r[c] for c in AUDIT_COLUMNS] for r in relinked])
    assert _verify(copy)[0] == 1


@pytest.mark.slow
@pytest.mark.soak
@pytest.mark.parametrize("column", ["decision", "borrower_id", "content_sha256", "rule_values",
                                    "consent_rows", "scheduled_for", "as_of_date", "step"])
def test_tampering_with_a_real_nights_log_is_named(nights, tmp_path, column):
    _, _, snapshots = nights
    source = snapshots[-1] / "warehouse.duckdb"
    total = query(source, "select count(*) from outreach.messages")[0][0]
    assert total > 10
    k = total // 2
    record = query(source, "select message_id from outreach.messages where seq = ?", [k])[0][0]
    copy = _tampered(source, tmp_path, f"update outreach.messages set {column} = "
                                       f"{EDITS[column]} where seq = {k}")
    _verify_fails_at(copy, k, record, in_process=False)


@pytest.mark.slow
@pytest.mark.soak
def test_deleting_or_swapping_real_records_is_named(nights, tmp_path):
    _, _, snapshots = nights
    source = snapshots[-1] / "warehouse.duckdb"
    ids = [r[0] for r in query(source, "select message_id from outreach.messages order by seq")]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    deleted = _tampered(source, tmp_path / "a", "delete from outreach.messages where seq = 7")
    _verify_fails_at(deleted, 7, ids[8], in_process=False)
    swapped = _tampered(source, tmp_path / "b", "update outreach.messages set seq = case seq "
                        "when 2 then 9 else 2 end where seq in (2, 9)")
    _verify_fails_at(swapped, 2, ids[9], in_process=False)


@pytest.mark.slow
@pytest.mark.soak
def test_a_whole_night_deleted_is_found_by_its_send_files_manifest(nights, tmp_path):
    """Deleting the last night's records and its `outreach.nights` row leaves a chain the
    warehouse alone cannot fault; the head its manifest carries can."""
    _, _, snapshots = nights
    source, last = snapshots[-1], NIGHTS[-1].isoformat()
    first = query(source / "warehouse.duckdb",
                  "select min(seq) from outreach.messages where as_of_date = ?", [last])[0][0]
    copy = _tampered(source / "warehouse.duckdb", tmp_path,
                     f"delete from outreach.messages where as_of_date = '{last}'",
                     f"delete from outreach.nights where as_of_date = '{last}'")
    assert audit_verify(copy, tmp_path / "no-send-files").returncode == 0
    done = audit_verify(copy, source / "out")
    assert done.returncode == 1, done.stdout
    assert f"(position {first})" in done.stderr and f"{last}/manifest.json" in done.stderr
