"""The benchmark's floor (bench/floor.sql) computes what RULES.md says, on a small synthetic
book: every loan feature and every audience equal the independent oracle. A floor that
computed less would make the pipeline/floor ratio flatter the pipeline."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.sample import write_sample
from tests.support.rules_oracle import CAMPAIGNS, FEATURE_FIELDS, oracle
from tests.test_rules_oracle import audience_mismatches, feature_mismatches, report

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
from floor import run_floor  # noqa: E402

AS_OF = date(2026, 6, 15)


@pytest.fixture(scope="module")
def floor_night(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench_floor")
    zone = base / "zone"
    write_sample(zone, loans=200, seed=11, as_of=AS_OF, fmt="parquet", events_per_loan=10)
    result = run_floor(zone, AS_OF, base / "floor.duckdb")
    with duckdb.connect(str(base / "floor.duckdb"), read_only=True) as con:
        cursor = con.execute("select * from loan_features")
        names = [d[0] for d in cursor.description]
        features = {r["loan_id"]: r for r in (dict(zip(names, row, strict=True))
                                              for row in cursor.fetchall())}
        audiences = {c: dict(con.execute(f"select borrower_id, loan_id from audience_{c}")
                             .fetchall()) for c in CAMPAIGNS}
    return result, features, audiences, oracle(zone, AS_OF)


def test_floor_times_every_statement(floor_night):
    result, features, _, _ = floor_night
    assert [s.table for s in result.statements][-6:] == [
        "audience_refinance", "audience_heloc", "audience_insurance",
        "audience_investment_property", "audience_post_close_welcome",
        "audience_financial_planning"]
    assert result.wall_s > 0 and result.cpu_s > 0
    assert next(s.rows for s in result.statements if s.table == "loan_features") == 200
    assert set(FEATURE_FIELDS) <= set(next(iter(features.values())))


def test_floor_features_match_the_oracle(floor_night):
    _, features, _, expected = floor_night
    problems = feature_mismatches(features, expected)
    assert not problems, report(problems)


def test_floor_audiences_match_the_oracle(floor_night):
    _, _, audiences, expected = floor_night
    problems = [p for c in CAMPAIGNS for p in audience_mismatches(c, audiences[c], expected)]
    assert sum(len(a) for a in audiences.values()) > 0
    assert not problems, report(problems)
