"""The night's audit check: tonight's records rehashed, the earlier ones held to the digest
the night before stored, so an edit anywhere in the log still stops the night."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.audit_chain import canonical_json, chain
from pipelines.lib.outreach.checks import broken_audit_chain
from pipelines.lib.outreach.state import ensure_schema
from pipelines.lib.outreach.store import (
    AUDIT_COLUMNS,
    chain_digest,
    chain_rows,
    verify_audit_log,
    verify_night,
)

NIGHT_1, NIGHT_2 = date(2026, 9, 10), date(2026, 9, 11)
FIRST, SECOND = 8, 4  # records each night appends


def _record(i: int, night: date) -> dict:
    return {c: None for c in AUDIT_COLUMNS if c not in ("seq", "prev_hash", "record_hash")} | {
        "message_id": f"m{i:03d}", "as_of_date": night.isoformat(), "run_id": f"r{night.day}",
        "code_version": "0.1.0+abc", "enrollment_id": f"e{i}", "campaign_id": "heloc",
        "step": i % 3, "channel": "email", "borrower_id": f"B{i}", "loan_id": f"L{i}",
        "template_id": "t", "decision": "send", "reason": "all_rules_passed",
        "rules_evaluated": '["gate"]', "rule_values": '{"months": 24}',
        "consent_rows": "[]", "timezone": '["America/Chicago"]'}


def _append(con: duckdb.DuckDBPyConnection, records: list[dict], digest: int | None) -> None:
    con.executemany(f"insert into outreach.messages ({', '.join(AUDIT_COLUMNS)}) values "
                    f"({', '.join('?' for _ in AUDIT_COLUMNS)})",
                    [[r[c] for c in AUDIT_COLUMNS] for r in records])
    night, last = records[-1]["as_of_date"], records[-1]
    con.execute("insert into outreach.nights (as_of_date, run_id, chain_records, chain_head, "
                "chain_digest) values (?, 'r', ?, ?, ?)",
                [night, last["seq"] + 1, last["record_hash"], digest])


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory) -> Path:
    """Two nights' records as store_plan leaves them: each night's row holds the chain's head
    and the digest of every record up to it."""
    linked = chain([_record(i, NIGHT_1) for i in range(FIRST)]
                   + [_record(i, NIGHT_2) for i in range(FIRST, FIRST + SECOND)])
    path = tmp_path_factory.mktemp("nightly") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_schema(con)
        _append(con, linked[:FIRST], None)
        con.execute("update outreach.nights set chain_digest = ?",
                    [chain_digest(con, FIRST)[1]])
        _append(con, linked[FIRST:], None)
        con.execute("update outreach.nights set chain_digest = ? where as_of_date = ?",
                    [chain_digest(con, FIRST + SECOND)[1], NIGHT_2])
    return path


def _copy(source: Path, folder: Path, *statements: str) -> duckdb.DuckDBPyConnection:
    copy = folder / "copy.duckdb"
    shutil.copyfile(source, copy)
    con = duckdb.connect(str(copy))
    for sql in statements:
        con.execute(sql)
    return con


def test_an_intact_night_rehashes_only_its_own_records(two_nights):
    with duckdb.connect(str(two_nights), read_only=True) as con:
        night = verify_night(con, NIGHT_2)
        whole = verify_audit_log(con)
        first = verify_night(con, NIGHT_1)
    assert night.ok and night.checked == SECOND
    assert whole.ok and whole.checked == FIRST + SECOND
    # the first night has no night before it: the whole log, its own records
    assert first.ok and first.checked == FIRST + SECOND


@pytest.mark.parametrize("column", ["decision", "borrower_id", "rule_values", "as_of_date",
                                    "step", "record_hash", "run_id"])
def test_an_edit_to_an_earlier_nights_record_stops_tonight(two_nights, tmp_path, column):
    edits = {"decision": "'suppress'", "borrower_id": "'B-else'", "rule_values": "'{}'",
             "as_of_date": "as_of_date + interval 1 day", "step": "step + 1",
             "record_hash": "repeat('b', 64)", "run_id": "'forged'"}
    with _copy(two_nights, tmp_path, f"update outreach.messages set {column} = "
                                     f"{edits[column]} where seq = 3") as con:
        result = verify_night(con, NIGHT_2)
        assert not result.ok
        assert result.first_bad_id == "m003"
        assert broken_audit_chain(con, NIGHT_2)[0].startswith("record m003: ")


def test_an_earlier_record_deleted_or_added_stops_tonight(two_nights, tmp_path):
    with _copy(two_nights, tmp_path, "delete from outreach.messages where seq = 5") as con:
        assert verify_night(con, NIGHT_2).first_bad_id == "m006"
    (tmp_path / "b").mkdir()
    with _copy(two_nights, tmp_path / "b",
               "insert into outreach.messages select * replace (-1 as seq, 'forged' as "
               "message_id) from outreach.messages where seq = 2") as con:
        assert verify_night(con, NIGHT_2).first_bad_id == "forged"


def test_an_edit_to_tonights_record_is_named(two_nights, tmp_path):
    with _copy(two_nights, tmp_path, "update outreach.messages set reason = 'x' "
                                     "where seq = 10") as con:
        result = verify_night(con, NIGHT_2)
    assert (result.ok, result.first_bad_id) == (False, "m010")


def test_tonights_records_must_reach_the_head_tonight_recorded(two_nights, tmp_path):
    with _copy(two_nights, tmp_path, "delete from outreach.messages where seq = 11") as con:
        result = verify_night(con, NIGHT_2)
    assert not result.ok and "deleted from its end" in result.reason


def test_a_digest_that_differs_falls_back_to_the_whole_log(two_nights, tmp_path):
    """A digest written by another DuckDB version (or none at all) costs a full check, not a
    false alarm."""
    with _copy(two_nights, tmp_path, "update outreach.nights set chain_digest = 1 "
                                     f"where as_of_date = '{NIGHT_1}'") as con:
        result = verify_night(con, NIGHT_2)
    assert result.ok and result.checked == FIRST + SECOND


@pytest.mark.slow
def test_real_nights_store_the_digest_and_a_tampered_log_stops_the_next(tmp_path):
    from tests.support.adversarial_night import run_night, sample_zone

    night_1 = date(2026, 11, 27)
    night_2 = night_1 + timedelta(days=1)
    zone = sample_zone(tmp_path / "zone", night_2)
    warehouse, out = tmp_path / "warehouse.duckdb", tmp_path / "out"
    assert run_night(zone, warehouse, out, night_1).returncode == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        records, digest = con.execute("select chain_records, chain_digest from outreach.nights"
                                      ).fetchone()
        assert records > 10 and chain_digest(con, records) == (records, digest)
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    shutil.copyfile(warehouse, tampered / "warehouse.duckdb")
    with duckdb.connect(str(tampered / "warehouse.duckdb")) as con:
        edited = con.execute("update outreach.messages set reason = reason || 'x' where seq = 4 "
                             "returning message_id").fetchone()[0]
    # untouched, the second night passes and its digest is every record's, summed by parts
    assert run_night(zone, warehouse, out, night_2).returncode == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        records, digest = con.execute("select chain_records, chain_digest from outreach.nights "
                                      "where as_of_date = ?", [night_2]).fetchone()
        assert chain_digest(con, records) == (records, digest)
        assert verify_night(con, night_2).checked == records - con.execute(
            "select chain_records from outreach.nights where as_of_date = ?",
            [night_1]).fetchone()[0]
    done = run_night(zone, tampered / "warehouse.duckdb", tampered / "out", night_2)
    assert done.returncode != 0
    assert f"record {edited}: record_hash does not match the record's fields: it was edited" \
        in done.stderr
    with duckdb.connect(str(tampered / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from outreach.nights where as_of_date = ?",
                           [night_2]).fetchone()[0] == 0


def test_the_log_is_read_with_the_canonical_text_python_would_hash(tmp_path):
    """chain_rows' text, built by DuckDB, is byte for byte the canonical JSON record_hash
    hashes (so verifying need not build it in Python), escapes and non-ASCII text included."""
    awkward = ['quote " back \\ slash / tab \t line\n', "é ü 中 \u2028 \x01 \x7f", ""]
    linked = chain([_record(i, NIGHT_1) | {"reason": text, "scheduled_for": None}
                    for i, text in enumerate(awkward)])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_schema(con)
        _append(con, linked, None)
        read = [(r.whole(), r.canonical_text) for r in chain_rows(con)]
    assert [whole for whole, _ in read] == linked
    assert [text for _, text in read] == [
        canonical_json({k: v for k, v in r.items() if k != "record_hash"}) for r in linked]
