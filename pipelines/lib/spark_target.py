"""Build the dbt project on Apache Spark (dbt-spark, `method: session`) from a DuckDB warehouse.

A night on `--target spark` keeps DuckDB as the operational store (raw, validation, ops,
outreach) and lets Spark build the dbt project:

1. `export_sources` writes what dbt reads (`raw.*`, `validation.quarantine`,
   `ops.build_nights`) from tonight's DuckDB working copy as Parquet under the Spark home
   (`<warehouse>.spark/sources/`); dbt's on-run-start hook registers each folder as a Spark table
   (dbt_project/macros/spark_sources.sql).
2. `dbt build --target spark` writes the marts as Parquet tables partitioned by as_of_date into
   `<warehouse>.spark/spark-warehouse/`; the Hive metastore beside it remembers them.
3. `expose_marts` makes each mart a DuckDB view over that Parquet (`marts.<name>`), so outreach,
   metrics, `xsell explain` and `xsell diff` read the audiences through the same relations on
   either target.

`SparkTarget` runs the same build in this process (dbtRunner, one SparkSession) for the test
suite, and returns the marts as Polars frames. Everything Spark writes (Derby metastore,
spark-warehouse/, the Parquet copies, dbt's target/ and logs/) goes under one folder; nothing
lands in the working directory. Needs the `spark` extra (`pip install -e '.[spark]'`) and a
Java 17 runtime.

    marts = build_marts_on_spark(Path("warehouse.duckdb"), Path("/tmp/xsell-spark"))
    marts["audience_heloc"]  # a polars.DataFrame
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.paths import DBT_PROJECT_DIR

# What dbt reads (dbt_project/models/staging/raw/_raw__sources.yml): every raw.* table, and these.
REQUIRED = (("validation", "quarantine"), ("ops", "build_nights"))
# Under a Spark home (XSELL_SPARK_HOME in profiles.yml): the sources' Parquet copies, and the
# folder of Spark's own tables (spark.sql.warehouse.dir; a schema is `<schema>.db/` in it).
SOURCES = "sources"
SPARK_WAREHOUSE = "spark-warehouse"


def spark_home(warehouse: Path) -> Path:
    """Where a warehouse's Spark side lives: `<warehouse>.spark/`, beside its `.lock`."""
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(warehouse.name + ".spark")


def mart_models() -> list[str]:
    """The marts the dbt project builds (models/marts/**): loan_features, every audience_*
    and audience_exclusions."""
    return sorted(path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.sql"))


class SparkBuildFailed(RuntimeError):
    """dbt on Spark did not succeed; the message names each failed node."""


def spark_available() -> str | None:
    """None when Spark can run here, else why not (for a test's skip reason)."""
    for module in ("pyspark", "dbt.adapters.spark"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is missing
            found = False
        if not found:
            return f"{module} is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.getenv("JAVA_HOME"):
        return "no Java runtime (java is not on PATH and JAVA_HOME is unset); Spark needs Java 17"
    return None


def export_sources(warehouse: Path, landing: Path) -> list[tuple[str, str, Path]]:
    """Write what dbt reads from a DuckDB warehouse as Parquet, one folder per table
    (`<landing>/<schema>/<table>/part-0.parquet`), replacing what an earlier night wrote.

    Types carry over (text stays text, `_row_id` bigint, dates date); `_loaded_at`
    (TIMESTAMP WITH TIME ZONE) is written as a UTC instant, which Spark reads as TIMESTAMP."""
    out = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema in ('raw', 'validation', 'ops') "
            "order by 1, 2"
        ).fetchall()
        missing = [f"{s}.{t}" for s, t in REQUIRED if (s, t) not in tables]
        if missing or not any(schema == "raw" for schema, _ in tables):
            raise ValueError(f"{warehouse} has no {', '.join(missing) or 'raw tables'}: "
                             "run a night's ingest into it first")
        for schema, table in tables:
            if schema != "raw" and (schema, table) not in REQUIRED:
                continue
            folder = landing / schema / table
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            target = (folder / "part-0.parquet").as_posix().replace("'", "''")
            con.execute(f'copy (select * from "{schema}"."{table}") to \'{target}\' '
                        "(format parquet)")
            out.append((schema, table, folder))
    return out


def _quoted(path: Path) -> str:
    return "'" + path.as_posix().replace("'", "''") + "'"


def expose_marts(warehouse: Path, home: Path) -> dict[str, int]:
    """Make every mart Spark built a view of the DuckDB warehouse, `marts.<name>`, over its
    Parquet partitions (`as_of_date=<night>/`), so outreach reads it as it reads a mart DuckDB
    built. A mart with no rows yet is an empty view with its columns (from the schema file the
    on-run-end hook wrote). Returns the Parquet files behind each view."""
    files_behind = {}
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists marts")
        for name in mart_models():
            table = home / SPARK_WAREHOUSE / "marts.db" / name
            files = sorted(table.glob("as_of_date=*/*.parquet"))
            schema = sorted((home / "mart-schemas" / name).glob("*.parquet"))
            if files:
                # as_of_date comes from the folder names, typed DATE; put first, as DuckDB has it
                source = (f"read_parquet({_quoted(table / 'as_of_date=*' / '*.parquet')}, "
                          "hive_partitioning = true, hive_types = {'as_of_date': date})")
            elif schema:
                source = f"read_parquet({_quoted(schema[0])})"
            else:
                raise SparkBuildFailed(f"Spark left no files for mart {name} in {table}")
            con.execute(f"create or replace view marts.{name} as "
                        f"select as_of_date, * exclude (as_of_date) from {source}")
            files_behind[name] = len(files)
    return files_behind


@dataclass
class SparkTarget:
    """One local SparkSession holding the sources and the dbt-built schemas, under `scratch`
    (laid out as a Spark home: sources/, spark-warehouse/, metastore_db/)."""

    scratch: Path
    seconds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.scratch = Path(self.scratch).resolve()
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.landing = self.scratch / SOURCES
        self.spark = None

    # -- session ------------------------------------------------------------------------------
    def start(self) -> SparkTarget:
        """Start the SparkSession dbt will reuse, configured as profiles.yml configures it.
        Its metastore, warehouse folder and derby.log live under scratch (Spark would otherwise
        write them where the process started)."""
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        started = time.perf_counter()
        metastore = self.scratch / "metastore_db"
        self.spark = (
            SparkSession.builder.master(os.getenv("XSELL_SPARK_MASTER", "local[2]"))
            .appName("xsell-dbt")
            .enableHiveSupport()  # as dbt-spark's session method builds it
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", str(self.scratch / SPARK_WAREHOUSE))
            .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                    f"jdbc:derby:;databaseName={metastore};create=true")
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={self.scratch}")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")
        self.seconds["session"] = time.perf_counter() - started
        return self

    def stop(self) -> None:
        if self.spark is not None:
            self.spark.stop()
            self.spark = None

    # -- sources ------------------------------------------------------------------------------
    def load(self, warehouse: Path, nights: Iterable[date] | None = None) -> None:
        """Copy the sources out of a DuckDB warehouse (after a night's ingest); dbt's
        on-run-start hook registers them as raw.<source>, validation.quarantine and
        ops.build_nights. `nights` replaces the warehouse's ops.build_nights."""
        started = time.perf_counter()
        shutil.rmtree(self.landing, ignore_errors=True)
        export_sources(Path(warehouse), self.landing)
        if nights is not None:
            self.set_nights(nights)
        self.seconds["load"] = time.perf_counter() - started

    def set_nights(self, nights: Iterable[date]) -> None:
        """The nights the next build makes (the rows of ops.build_nights)."""
        folder = self.landing / "ops" / "build_nights"
        for old in folder.glob("*.parquet"):
            old.unlink()
        pq.write_table(pa.table({"as_of_date": pa.array(sorted(set(nights)), pa.date32())}),
                       folder / "part-0.parquet")

    # -- dbt ----------------------------------------------------------------------------------
    def _invoke(self, args: list[str]):
        """dbt in this process against the `spark` target; target/ and logs/ under scratch, so
        the DuckDB build's partial parse in dbt_project/target is left alone."""
        from dbt.cli.main import dbtRunner

        with spark_env(self.scratch):
            return dbtRunner().invoke([
                *args,
                "--project-dir", str(DBT_PROJECT_DIR),
                "--profiles-dir", str(DBT_PROJECT_DIR),
                "--target", "spark",
                "--target-path", str(self.scratch / "dbt-target"),
                "--log-path", str(self.scratch / "dbt-logs"),
            ])

    def dbt(self, *args: str) -> None:
        """A dbt command on Spark; raises SparkBuildFailed naming each failed node."""
        started = time.perf_counter()
        result = self._invoke(list(args))
        self.seconds[f"dbt {args[0]}"] = (self.seconds.get(f"dbt {args[0]}", 0.0)
                                          + time.perf_counter() - started)
        if not result.success:
            failed = [f"{r.node.unique_id}: {r.status}: {r.message}"
                      for r in (getattr(result.result, "results", None) or [])
                      if getattr(r.status, "value", r.status) in ("error", "fail")]
            detail = "\n".join(failed) or repr(result.exception)
            raise SparkBuildFailed(f"dbt {args[0]} on Spark failed:\n{detail}\n"
                                   f"(log: {self.scratch / 'dbt-logs' / 'dbt.log'})")

    def build(self, dbt_vars: dict | None = None, *more_args: str) -> None:
        """`dbt build` as the nightly run does it: the campaign rules as vars, unit tests left
        to the test suite."""
        self.dbt("build", "--vars", _vars_json(dbt_vars),
                 "--exclude-resource-type", "unit_test", *more_args)

    def unit_tests(self, dbt_vars: dict | None = None) -> None:
        """The project's hand-worked dbt unit tests, run on Spark (after a build: dbt reads the
        input models' column types from the built relations)."""
        self.dbt("test", "--select", "test_type:unit", "--vars", _vars_json(dbt_vars))

    def show(self, sql: str, limit: int = 100) -> list[tuple]:
        """Rows of a query that may call the project's macros (`dbt show --inline`)."""
        result = self._invoke(["show", "--inline", sql, "--limit", str(limit)])
        if not result.success:
            raise SparkBuildFailed(f"dbt show on Spark failed: {result.exception!r}")
        return [tuple(row) for row in result.result.results[0].agate_table.rows]

    def marts(self, names: Iterable[str] | None = None) -> dict[str, pl.DataFrame]:
        """Each mart as a Polars frame (through Arrow), columns as Spark typed them (the
        partition column as_of_date comes last)."""
        started = time.perf_counter()
        frames = {name: pl.from_arrow(self.spark.table(f"marts.{name}").toArrow())
                  for name in (mart_models() if names is None else names)}
        self.seconds["read"] = time.perf_counter() - started
        return frames


def build_marts_on_spark(
    warehouse: Path, scratch: Path, *, dbt_vars: dict | None = None,
    nights: Iterable[date] | None = None,
) -> dict[str, pl.DataFrame]:
    """Build the marts on Spark from a DuckDB warehouse that holds a night's ingest.

    The nights built are the warehouse's ops.build_nights unless `nights` is given; `dbt_vars`
    defaults to the campaign rules in assets/campaigns, as the nightly run passes them."""
    target = SparkTarget(Path(scratch)).start()
    try:
        target.load(Path(warehouse), nights)
        target.build(dbt_vars)
        return target.marts()
    finally:
        target.stop()


def _vars_json(dbt_vars: dict | None) -> str:
    """The dbt vars; by default the campaign rules in assets/campaigns, as the nightly run
    passes them (pipelines.lib.dbt_args)."""
    if dbt_vars is None:
        from pipelines.lib.campaigns import load_campaigns
        from pipelines.lib.dbt_args import dbt_vars as nightly_vars

        dbt_vars = nightly_vars(load_campaigns())
    return json.dumps(dbt_vars, sort_keys=True)


@contextmanager
def spark_env(home: Path) -> Iterator[None]:
    """XSELL_SPARK_HOME, which profiles.yml and the sources hook read, for a dbt run on Spark."""
    with _env(XSELL_SPARK_HOME=str(Path(home).resolve()),
              SPARK_LOCAL_IP=os.getenv("SPARK_LOCAL_IP", "127.0.0.1")):
        yield


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
