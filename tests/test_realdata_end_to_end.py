"""A landing zone built only from the real files (FHFA HPI, Freddie Mac PMMS, Fannie Mae
acquisitions and performance) runs through `xsell run` untouched, and the nightly's features
for the replayed loans are the backtest's features for the same night.

Slow: a full night (ingest, validation, dbt build, outreach) on 5,000 loans, about a minute
on an idle 2-core machine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli import main
from pipelines.lib.backtest.command import run_backtest
from pipelines.lib.realdata import build_landing_zone

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
NIGHT = date(2003, 6, 30)  # a Monday: the week's PMMS and its APOR are both known
COMPARED = ("months_since_close", "current_upb", "est_value", "value_method",
            "available_equity", "market_rate", "rate_spread_bps", "scheduled_payment",
            "new_payment", "monthly_savings", "breakeven_months")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> Path:
    if not REALDATA.exists():
        pytest.skip(f"../shared/realdata not present ({REALDATA}): tests read it, never copy it")
    tmp = tmp_path_factory.mktemp("real_night")
    landing = tmp / "landing"
    build_landing_zone(REALDATA, landing, NIGHT)
    assert main(["run", "--input", str(landing), "--warehouse", str(tmp / "wh.duckdb"),
                 "--out", str(tmp / "exports")]) == 0  # the night comes from landing/_as_of
    return tmp


def test_real_landing_zone_runs_a_night(night):
    assert (night / "exports" / NIGHT.isoformat() / "manifest.json").is_file()
    with duckdb.connect(str(night / "wh.duckdb"), read_only=True) as con:
        def count(sql: str) -> int:
            return con.execute(sql, [NIGHT] if "?" in sql else []).fetchone()[0]

        assert count("select count(*) from marts.loan_features where as_of_date = ?") == 5000
        assert count("select count(*) from validation.quarantine") == 0
        assert count("select count(*) from marts.audience_refinance where as_of_date = ?") > 0


def test_nightly_features_are_the_backtests(night):
    replay = run_backtest(REALDATA, "refinance", NIGHT, NIGHT)
    ours = replay.loan_nights.select("loan_id", *COMPARED,
                                     flagged=pl.col("refinance trigger+eligibility"))
    with duckdb.connect(str(night / "wh.duckdb"), read_only=True) as con:
        features = pl.from_arrow(con.execute(
            f"select loan_id, {', '.join(COMPARED)} from marts.loan_features "
            "where as_of_date = ?", [NIGHT]).to_arrow_table())
        audience = {r[0] for r in con.execute(
            "select loan_id from marts.audience_refinance where as_of_date = ?",
            [NIGHT]).fetchall()}
    nightly = features.join(ours.select("loan_id"), on="loan_id", how="semi")
    assert nightly.height == ours.height == 138 - 101 - 2  # 101 paid off, 2 repurchased
    for column in COMPARED:
        kind = pl.String if column == "value_method" else pl.Float64  # decimal vs double
        a = ours.sort("loan_id")[column].cast(kind)
        b = nightly.sort("loan_id")[column].cast(kind)
        assert a.to_list() == b.to_list(), column
    # Every borrower has one loan and none converted: the audience is the flagged loans.
    assert audience == set(ours.filter("flagged")["loan_id"])
