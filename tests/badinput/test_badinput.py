"""The bad-input corpus: every class judged by intake (fast), then by `xsell run` (slow).

The fast test loads each case's landing zone and validates the source the flaw is in. The slow
test runs the real command against a warehouse that already holds one good night: a refused
night exits 1 naming the file, the column and the rule, and leaves the warehouse byte for byte
and every earlier send file as they were; an accepted night exits 0 and publishes its files.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.intake import validate_intake
from pipelines.lib.landing import load_landing_zone
from pipelines.lib.problems import Problem
from pipelines.lib.sources import SOURCES
from pipelines.lib.validation import settings, validate_source
from tests.badinput.corpus import AS_OF, FUTURE_RATE, MEGABYTE, Case, all_cases, materialize
from tests.support.adversarial_night import (
    Slot,
    ok,
    query,
    run_night,
    sample_zone,
    sha256,
    staging_folders,
    tree,
)

GOOD_NIGHT = AS_OF - timedelta(days=1)
CASES = all_cases(AS_OF)
CLI_CASES = [c for c in CASES if c.cli]


def _marks(case: Case, *more) -> list:
    bug = [pytest.mark.xfail(strict=True, reason=case.bug, raises=AssertionError)] \
        if case.bug else []
    return [*more, *bug]
READABLE = 64 * 1024  # a refusal a person can read: not megabytes of one cell


@pytest.fixture(scope="module")
def base_zone(tmp_path_factory) -> Path:
    return sample_zone(tmp_path_factory.mktemp("badinput") / "base", AS_OF)


def _source(case: Case) -> str:
    return case.file.rsplit(".", 1)[0]


def _intake(zone: Path, case: Case) -> list[Problem]:
    """File-level problems from the load; else the rules of the case's source (all sources
    for a case that must be accepted)."""
    config = settings()
    with duckdb.connect() as con:
        _, problems = load_landing_zone(con, zone)
        if problems:
            return problems
        if case.expect == "accepted":
            return validate_intake(con, AS_OF, "corpus")
        return validate_source(con, SOURCES[_source(case)], config["gx_chunk_rows"],
                               config["quarantine_max_share"])


def _matching(case: Case, problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.column == case.column and p.rule.startswith(case.rule)
            and case.file in Path(p.file.split(",")[0]).name]


def test_the_base_zone_is_clean(base_zone):
    with duckdb.connect() as con:
        _, problems = load_landing_zone(con, base_zone)
        assert problems == []
        assert validate_intake(con, AS_OF, "corpus") == []


def test_the_corpus_covers_every_class():
    ids = {c.id for c in CASES}
    for source in SOURCES.values():
        for column in source.columns:
            if column.required:
                assert f"{source.name}.{column.name}.not_null" in ids
                assert f"{source.name}.{column.name}.column.present" in ids
    rules = {c.rule for c in CASES}
    assert {"file.present", "file.not_empty", "file.has_rows", "column.present",
            "file.csv_format", "file.utf8", "key.unique", "key.same_content",
            "funded_loan_has_date", "rate_in_percent", "range", "format", "allowed_values",
            "not_null", "type.date", "type.timestamp", "type.decimal", "type.integer",
            "type.boolean"} <= rules
    assert {c.expect for c in CLI_CASES} == {"refused", "accepted", "quarantined"}


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.id, marks=_marks(c, *([pytest.mark.slow] if c.thorough else [])))
    for c in CASES])
def test_intake_judges_the_case(case, base_zone, tmp_path):
    zone = materialize(case, base_zone, tmp_path / "zone")
    problems = _intake(zone, case)
    shown = "\n".join(p.describe()[:300] for p in problems) or "(none)"
    fatal = [p for p in problems if p.fatal]
    if case.expect == "accepted":
        assert problems == [], shown
        return
    found = _matching(case, problems)
    assert found, f"{case.what}: expected {case.file} {case.column} {case.rule}; got\n{shown}"
    if case.expect == "refused":
        assert any(p.fatal for p in found), shown
        described = next(p for p in found if p.fatal).describe()
        assert f"column {case.column}: rule {case.rule}" in described
    else:  # quarantined: set aside and counted, the night goes on
        assert not fatal, shown
        assert all(p.count >= 1 and p.row_ids for p in found)


# --- the real command


@pytest.fixture(scope="module")
def good_night(tmp_path_factory, base_zone):
    """A warehouse holding one good night (GOOD_NIGHT), and its send files, as a snapshot."""
    root = tmp_path_factory.mktemp("badinput-cli")
    slot = Slot(root / "slot")
    slot.clear()
    done = run_night(base_zone, slot.warehouse, slot.out, GOOD_NIGHT)
    assert done.returncode == 0, ok(done)
    assert (slot.out / GOOD_NIGHT.isoformat() / "manifest.json").is_file()
    return slot, slot.save(root / "good")


def _report(out: Path) -> dict:
    reports = sorted((out / "validation").glob(f"{AS_OF.isoformat()}_*.json"))
    assert len(reports) == 1, reports
    return json.loads(reports[0].read_text())


@pytest.mark.slow
@pytest.mark.soak
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=_marks(c)) for c in CLI_CASES])
def test_the_night_judges_the_case(case, good_night, base_zone, tmp_path):
    slot, snapshot = good_night
    slot.load(snapshot)
    zone = materialize(case, base_zone, tmp_path / "zone")
    warehouse_before = sha256(slot.warehouse)
    sent_before = tree(slot.out, skip=("validation/",))

    done = run_night(zone, slot.warehouse, slot.out, AS_OF)

    night = slot.out / AS_OF.isoformat()
    assert not slot.warehouse.with_name("warehouse.duckdb.next").exists()
    if case.expect == "refused":
        assert done.returncode == 1, ok(done)
        named = [line for line in done.stderr.splitlines()
                 if case.file in line and f"column {case.column}: rule {case.rule}" in line]
        assert named, f"no line names {case.file}, column {case.column}, rule {case.rule}\n" \
                      + ok(done)
        assert sha256(slot.warehouse) == warehouse_before
        assert not night.exists()
        assert tree(slot.out, skip=("validation/",)) == sent_before
        assert staging_folders(slot.out) == []
        assert _report(slot.out)["outcome"] == "refused"
        return

    assert done.returncode == 0, ok(done)
    assert (night / "manifest.json").is_file()
    assert tree(slot.out / GOOD_NIGHT.isoformat()) == {
        k.split("/", 1)[1]: v for k, v in sent_before.items()
        if k.startswith(GOOD_NIGHT.isoformat() + "/")}
    report = _report(slot.out)
    assert report["outcome"] == "accepted"
    if case.expect == "accepted":
        assert report["problems"] == []
    else:
        quarantined = [p for p in report["problems"] if p["column"] == case.column
                       and p["rule"].startswith(case.rule) and not p["fatal"]]
        assert quarantined and case.file in quarantined[0]["file"], report["problems"]
        stored = query(slot.warehouse, "select outcome, row_count from validation.results "
                                       "where as_of_date = ? and rule = ?", [AS_OF, case.rule])
        assert stored and all(o == "quarantined" for o, _ in stored)
    _accepted_details(case, slot, snapshot)


def _accepted_details(case: Case, slot: Slot, snapshot: Path) -> None:
    if case.id == "bom_and_crlf":
        # read exactly as the plain files were on the good night: same rows, same text
        for source in SOURCES:
            sql = f"select * exclude (_loaded_at) from raw.{source} order by _row_id"
            assert query(slot.warehouse, sql) == query(snapshot / "warehouse.duckdb", sql), source
    if case.id == "rows_after_the_as_of":
        rates = query(slot.warehouse, "select distinct market_rate from marts.loan_features "
                                      "where as_of_date = ? and market_rate is not null", [AS_OF])
        assert rates and all(str(r) != FUTURE_RATE for (r,) in rates)
        # ignored by the night, yet kept as it arrived
        assert query(slot.warehouse, "select count(*) from raw.market_rates where rate = ?",
                     [FUTURE_RATE]) == [(1,)]
    if case.id == "contact_preferences.megabyte_free_text":
        assert query(slot.warehouse, "select max(length(source)) from "
                                     "raw.contact_preferences")[0][0] > MEGABYTE


def test_a_refusal_stays_readable_whatever_the_cell(base_zone, tmp_path):
    """What `xsell run` prints for a refusal is Problem.describe() (pipelines/night.py)."""
    case = next(c for c in CASES if c.id == "loans.megabyte_in_a_rule_column")
    problems = _intake(materialize(case, base_zone, tmp_path / "zone"), case)
    message = "\n".join(p.describe() for p in problems if p.fatal)
    if "rule allowed_values" not in message:
        pytest.fail(f"not refused as expected: {message[:300]}")
    assert len(message) < READABLE, f"the refusal is {len(message):,} characters"
