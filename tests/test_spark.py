"""The same dbt project on Apache Spark (dbt-spark, session method) builds the same marts.

The bundled sample is run headless on DuckDB for two nights, one after the other. The same raw
tables are then copied into a local Spark and built there one night at a time, so the second
build goes through the incremental path (insert_overwrite of the as_of_date partition) and must
leave the first night as it was. Every mart must equal DuckDB's row for row, once each side's
types are cast to a common one (Spark types day and month counts INT, DuckDB BIGINT; decimal
precisions differ where arithmetic widens them). The project's dbt unit tests then run on Spark
as well."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.cli import main
from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.paths import SAMPLE_DIR
from pipelines.lib.spark_target import SparkBuildFailed, SparkTarget, mart_models, spark_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(spark_available() is not None,
                       reason=f"Spark cannot run here: {spark_available()}"),
]

LAST_NIGHT = date.fromisoformat((SAMPLE_DIR / "_as_of").read_text().strip())
FIRST_NIGHT = LAST_NIGHT - timedelta(days=1)
KEY = ("as_of_date", "campaign_id", "borrower_id", "loan_id")
MARTS = mart_models()  # loan_features, audience_* and audience_exclusions


@pytest.fixture(scope="module")
def duckdb_warehouse(tmp_path_factory):
    base = tmp_path_factory.mktemp("duckdb")
    warehouse = base / "warehouse.duckdb"
    for night in (FIRST_NIGHT, LAST_NIGHT):
        assert main(["run", "--input", str(SAMPLE_DIR), "--warehouse", str(warehouse),
                     "--out", str(base / "exports"), "--as-of", night.isoformat()]) == 0
    return warehouse


# Every spelling validation accepts (pipelines/lib/validation.py, PARSES["timestamp"]), with the
# UTC day, hour and minute DuckDB's timestamptz reading gives it.
TIMESTAMPS = {
    "2026-11-20T14:03": (date(2026, 11, 20), 14, 3),
    "2026-11-20 14:03:07": (date(2026, 11, 20), 14, 3),
    "2026-11-20T14:03Z": (date(2026, 11, 20), 14, 3),
    "2026-11-20T01:30+02:00": (date(2026, 11, 19), 23, 30),
    "2026-11-20T01:30-0330": (date(2026, 11, 20), 5, 0),
    "2026-11-20T01:30:00+02": (date(2026, 11, 19), 23, 30),
    "2026-11-20T23:30:00.5-05:00": (date(2026, 11, 21), 4, 30),
    "2026-11-20T14:03:07.123456Z": (date(2026, 11, 20), 14, 3),
}


@pytest.fixture(scope="module")
def spark(duckdb_warehouse, tmp_path_factory):
    """Both nights built on Spark, one invocation each, and what the tests read from it."""
    target = SparkTarget(tmp_path_factory.mktemp("spark")).start()
    seen = {}
    try:
        target.load(duckdb_warehouse, nights=[FIRST_NIGHT])
        target.build()
        target.set_nights([LAST_NIGHT])
        target.build()
        seen["marts"] = target.marts()
        seen["partitioned"] = {name: _partition_columns(target.spark, f"marts.{name}")
                               for name in MARTS}
        try:
            target.unit_tests()
            seen["unit_tests"] = None
        except SparkBuildFailed as failure:
            seen["unit_tests"] = str(failure)
        seen["timestamps"] = dict(zip(TIMESTAMPS, [row[1:] for row in sorted(target.show(
            " union all ".join(_utc_parts(n, text) for n, text in enumerate(TIMESTAMPS))))]))
    finally:
        target.stop()
    print(f"\nSpark times (s): {({k: round(v, 1) for k, v in target.seconds.items()})}")
    return seen


def _utc_parts(n: int, text: str) -> str:
    ts = f"{{{{ xsell.utc_timestamp(\"'{text}'\") }}}}"
    return (f"select {n} as n, cast({ts} as date) as on_day, extract(hour from {ts}) as h, "
            f"extract(minute from {ts}) as m")


def _partition_columns(spark, table: str) -> list[str]:
    rows = spark.sql(f"describe table {table}").collect()
    names = [row[0] for row in rows]
    if "# Partition Information" not in names:
        return []
    after = names[names.index("# Partition Information") + 1:]
    return [name for name in after if name and not name.startswith("#")]


def duckdb_marts(warehouse) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: pl.from_arrow(con.sql(f"select * from marts.{name}").to_arrow_table())
                for name in MARTS}


def common_types(duck: pl.DataFrame, spark: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both frames in DuckDB's column order, sorted by key, with one type per column."""
    columns, casts = duck.columns, []
    for name in columns:
        left, right = duck.schema[name], spark.schema[name]
        if left.is_integer() and right.is_integer():
            casts.append(pl.col(name).cast(pl.Int64))
        elif isinstance(left, pl.Decimal) and isinstance(right, pl.Decimal):
            casts.append(pl.col(name).cast(pl.Decimal(38, max(left.scale, right.scale))))
        elif left.is_numeric() and right.is_numeric():
            casts.append(pl.col(name).cast(pl.Float64))
        else:
            casts.append(pl.col(name))
    key = [name for name in KEY if name in columns]
    return (duck.select(casts).sort(key, nulls_last=True),
            spark.select(columns).select(casts).sort(key, nulls_last=True))


def test_both_nights_were_built(duckdb_warehouse):
    nights = duckdb_marts(duckdb_warehouse)["loan_features"]["as_of_date"].unique().sort()
    assert nights.to_list() == [FIRST_NIGHT, LAST_NIGHT]


@pytest.mark.parametrize("mart", MARTS)
def test_mart_equals_duckdb_row_for_row(mart, duckdb_warehouse, spark):
    duck, built = duckdb_marts(duckdb_warehouse)[mart], spark["marts"][mart]
    assert sorted(built.columns) == sorted(duck.columns)
    duck, built = common_types(duck, built)
    assert duck.height == built.height, f"{mart}: DuckDB {duck.height} rows, Spark {built.height}"
    # Money and counts exactly; ratios (current_ltv, upb_to_original_value) as doubles.
    assert_frame_equal(built, duck, check_exact=False, rel_tol=1e-12, abs_tol=0.0)


def test_the_comparison_covers_every_enabled_campaign(spark):
    marts = spark["marts"]
    enabled = [cid for cid, campaign in load_campaigns().items() if campaign.enabled]
    assert {"insurance", "post_close_welcome", "heloc", "refinance", "financial_planning",
            "investment_property"} <= set(enabled)
    for mart in [f"audience_{cid}" for cid in enabled] + ["audience_exclusions"]:
        on_night = marts[mart].filter(pl.col("as_of_date") == LAST_NIGHT)
        assert on_night.height > 0, f"{mart} is empty on {LAST_NIGHT}: nothing was compared"


def test_marts_are_partitioned_by_night_on_spark(spark):
    assert spark["partitioned"] == {name: ["as_of_date"] for name in MARTS}


def test_dbt_unit_tests_pass_on_spark(spark):
    """The hand-worked threshold cases (RULES.md boundaries) hold on Spark too."""
    assert spark["unit_tests"] is None, spark["unit_tests"]


def test_every_timestamp_spelling_is_read_as_utc_on_spark(spark):
    """utc_timestamp on Spark agrees with DuckDB's timestamptz reading, including HH:MM
    followed by an offset, which Spark's own cast refuses."""
    assert spark["timestamps"] == TIMESTAMPS
