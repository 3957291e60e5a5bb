"""`xsell run --target spark` gives the night `xsell run` gives on DuckDB.

A landing zone the bundled sample did not come from (another seed, 300 loans) is run once with
dbt on Spark and once on DuckDB, into separate warehouses and export folders. Spark's marts are
read by outreach through DuckDB views over the Parquet Spark wrote; the audiences, the loan
features, the audit log and every byte of the send files must come out the same."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipelines.cli import main
from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.spark_target import mart_models, spark_available, spark_home

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(spark_available() is not None,
                       reason=f"Spark cannot run here: {spark_available()}"),
]

AS_OF = date(2026, 11, 27)
ENABLED = sorted(cid for cid, campaign in load_campaigns().items() if campaign.enabled)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """The same landing zone run on each target; {target: (warehouse, send-file folder)}."""
    base = tmp_path_factory.mktemp("spark-night")
    landing = base / "landing"
    assert main(["sample", "--seed", "11", "--loans", "300", "--as-of", AS_OF.isoformat(),
                 "--out", str(landing)]) == 0
    ran = {}
    for target in ("spark", "duckdb"):
        warehouse, exports = base / target / "warehouse.duckdb", base / target / "exports"
        assert main(["run", "--target", target, "--input", str(landing),
                     "--warehouse", str(warehouse), "--out", str(exports)]) == 0
        ran[target] = (warehouse, exports / AS_OF.isoformat())
    return ran


def _rows(warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql, [AS_OF])
        names = [d[0] for d in cursor.description]
        # by column name: Spark puts the partition column last in its files
        return sorted((tuple(sorted(zip(names, row, strict=True))) for row in cursor.fetchall()),
                      key=repr)


def test_the_marts_outreach_read_are_spark_parquet(nights):
    warehouse, _ = nights["spark"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kinds = dict(con.execute("select table_name, table_type from information_schema.tables "
                                 "where table_schema = 'marts'").fetchall())
    assert {name: kinds.get(name) for name in mart_models()} == dict.fromkeys(mart_models(),
                                                                              "VIEW")
    night = (spark_home(warehouse) / "spark-warehouse" / "marts.db" / "loan_features"
             / f"as_of_date={AS_OF.isoformat()}")
    assert list(night.glob("*.parquet")), f"Spark wrote no Parquet in {night}"


@pytest.mark.parametrize("mart", ["loan_features", "audience_exclusions",
                                  *[f"audience_{cid}" for cid in ENABLED]])
def test_mart_is_the_same_on_both_targets(mart, nights):
    sql = f"select * from marts.{mart} where as_of_date = ?"
    spark, duck = _rows(nights["spark"][0], sql), _rows(nights["duckdb"][0], sql)
    assert len(spark) == len(duck), f"{mart}: Spark {len(spark)} rows, DuckDB {len(duck)}"
    assert spark == duck


def test_the_comparison_is_not_empty(nights):
    warehouse, _ = nights["duckdb"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        features = con.execute("select count(*) from marts.loan_features where as_of_date = ?",
                               [AS_OF]).fetchone()[0]
        members = sum(con.execute(f"select count(*) from marts.audience_{cid} "
                                  "where as_of_date = ?", [AS_OF]).fetchone()[0]
                      for cid in ENABLED)
        sent = con.execute("select count(*) from outreach.messages where as_of_date = ? "
                           "and decision = 'send'", [AS_OF]).fetchone()[0]
    assert features == 300
    assert members > 0 and sent > 0


def test_audit_log_is_the_same_on_both_targets(nights):
    sql = "select * from outreach.messages where as_of_date = ? order by seq"
    assert _rows(nights["spark"][0], sql) == _rows(nights["duckdb"][0], sql)


def test_send_files_are_byte_identical(nights):
    spark, duck = nights["spark"][1], nights["duckdb"][1]
    names = sorted(p.name for p in duck.iterdir())
    assert {"manifest.json", "email.csv", "sms.csv"} <= set(names)
    assert sorted(p.name for p in spark.iterdir()) == names
    for name in names:
        assert (spark / name).read_bytes() == (duck / name).read_bytes(), name
