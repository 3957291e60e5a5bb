"""The DuckDB views over a Spark home's marts, without Spark: Parquet laid out as Spark lays out
a table partitioned by as_of_date (tests/test_spark_night.py runs the real thing)."""

from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.lib.spark_target import SparkBuildFailed, expose_marts, mart_models, spark_home

NIGHTS = [date(2026, 11, 26), date(2026, 11, 27)]


def _spark_home(tmp_path, empty: set[str] = frozenset(), missing: set[str] = frozenset()):
    warehouse = tmp_path / "warehouse.duckdb"
    home = spark_home(warehouse)
    for name in mart_models():
        if name in missing:
            continue
        if name in empty:  # what the on-run-end hook writes: columns, no rows
            folder = home / "mart-schemas" / name
            folder.mkdir(parents=True)
            pq.write_table(pa.table({"borrower_id": pa.array([], pa.string()),
                                     "as_of_date": pa.array([], pa.date32())}),
                           folder / "part-00000.parquet")
            continue
        for n, night in enumerate(NIGHTS):
            folder = home / "spark-warehouse" / "marts.db" / name / f"as_of_date={night}"
            folder.mkdir(parents=True)
            # Spark's files hold every column but the partition column, which comes last
            pq.write_table(pa.table({"borrower_id": [f"B{n}a", f"B{n}b"],
                                     "months": pa.array([24 + n, 36], pa.int32())}),
                           folder / "part-00000-x.c000.snappy.parquet")
    return warehouse, home


def test_spark_home_sits_beside_the_warehouse(tmp_path):
    assert spark_home(tmp_path / "w.duckdb") == tmp_path / "w.duckdb.spark"


def test_each_mart_is_a_view_with_as_of_date_first_typed_date(tmp_path):
    warehouse, home = _spark_home(tmp_path)
    assert expose_marts(warehouse, home) == dict.fromkeys(mart_models(), 2)
    with duckdb.connect(str(warehouse)) as con:
        columns = con.execute("describe marts.audience_heloc").fetchall()
        rows = con.execute("select * from marts.audience_heloc where as_of_date = ? "
                           "order by borrower_id", [NIGHTS[1]]).fetchall()
    assert [(c[0], c[1]) for c in columns] == [
        ("as_of_date", "DATE"), ("borrower_id", "VARCHAR"), ("months", "INTEGER")]
    assert rows == [(NIGHTS[1], "B1a", 25), (NIGHTS[1], "B1b", 36)]


def test_a_view_sees_a_partition_written_after_it(tmp_path):
    warehouse, home = _spark_home(tmp_path)
    expose_marts(warehouse, home)
    later = home / "spark-warehouse" / "marts.db" / "loan_features" / "as_of_date=2026-11-28"
    later.mkdir()
    pq.write_table(pa.table({"borrower_id": ["B9"], "months": pa.array([1], pa.int32())}),
                   later / "part-00000.parquet")
    with duckdb.connect(str(warehouse)) as con:
        nights = con.execute("select distinct as_of_date from marts.loan_features "
                             "order by 1").fetchall()
    assert [n[0] for n in nights] == [*NIGHTS, date(2026, 11, 28)]


def test_a_mart_without_rows_is_an_empty_view_with_its_columns(tmp_path):
    warehouse, home = _spark_home(tmp_path, empty={"audience_arm_reset"})
    assert expose_marts(warehouse, home)["audience_arm_reset"] == 0
    with duckdb.connect(str(warehouse)) as con:
        cursor = con.execute("select * from marts.audience_arm_reset where as_of_date = ?",
                             [NIGHTS[1]])
        assert [d[0] for d in cursor.description] == ["as_of_date", "borrower_id"]
        assert cursor.fetchall() == []


def test_a_mart_spark_left_nothing_for_is_refused_by_name(tmp_path):
    warehouse, home = _spark_home(tmp_path, missing={"audience_refinance"})
    with pytest.raises(SparkBuildFailed, match="mart audience_refinance"):
        expose_marts(warehouse, home)
