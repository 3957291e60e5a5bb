"""Check the raw landing zone against every INPUTS.md rule before anything is built from it.

A night judges the rows it read (landing.py keeps the others, judged by the night that read
them) and, for the rules that look across rows, the keys those rows touch. Column rules run
through Great Expectations (GX Core, ephemeral context, pandas batches) over each column's
distinct values: a rule on one value gives the same verdict on every row that holds it, so GX
reads a handful of values where a file has millions of rows. Rules GX cannot check value by
value — whether a text parses as its type, key uniqueness, foreign keys, rules across columns —
run as DuckDB SQL. Both report in the same shape.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import duckdb
import yaml

from pipelines.lib.landing import LEDGER, ROWS_PER_FILE
from pipelines.lib.paths import ASSETS_DIR
from pipelines.lib.problems import Problem
from pipelines.lib.sources import SOURCES, Column, Source

EXAMPLES = 5

PARSES = {
    "date": r"^\d{4}-\d{2}-\d{2}$",
    "timestamp": r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$",
    "decimal": r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$",
    "integer": r"^[+-]?\d+$",
    "boolean": r"^(?i:true|false|t|f|1|0|yes|no|y|n)$",
}
SQL_TYPE = {"date": "date", "timestamp": "timestamptz", "decimal": "double", "integer": "bigint"}
# Rules that look across rows: re-judged each night for the keys tonight's rows touch. Every
# other rule reads one row, so a row's verdict holds until its file changes.
ACROSS_ROWS = ("key.", "foreign_key.")
# The warehouse keeps money as DECIMAL(18, 2) (dbt_project/models/staging/raw, macros/money.sql),
# under 10^16, and derives larger figures from it (values grown by the house price index,
# amortization rounding): a decimal of 10^12 or more (a trillion-dollar loan, 1e20, or 1e400,
# infinite as a double) is refused here, by name, rather than breaking the dbt build later.
DECIMAL_LIMIT = 1e12


def settings(assets_dir: Path = ASSETS_DIR) -> dict:
    return yaml.safe_load((assets_dir / "validation.yaml").read_text())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _typed(column: Column) -> str:
    """The column as GX compares it: numbers cast, text lower-cased for sets."""
    name = _quote(column.name)
    if column.kind in ("decimal", "integer"):
        return f"try_cast({name} as double)"
    if column.kind == "boolean" or column.allowed:
        return f"lower({name})"
    return name


def _reads_value(column: Column) -> bool:
    return bool(column.allowed or column.pattern or column.min is not None
                or column.max is not None or column.min_exclusive is not None
                or column.max_exclusive is not None)


def _gx_value(column: Column) -> str:
    """What GX gets of a column: its typed value where a rule reads the value, else only
    whether it is there (not-null needs nothing more, and millions of ids become two values)."""
    if _reads_value(column):
        return _typed(column)
    return f"case when {_typed(column)} is null then null else 'present' end"


SHOWN_CHARACTERS = 60  # a refusal a person can read, even when one cell is a megabyte


def _example(row: dict, source: Source, column: Column) -> str:
    key = ", ".join(f"{k}={row.get(k)}" for k in source.key
                    if k in row and k != column.name and not source.column(k).pii)
    where = f"line {row['_line']}" if row.get("_line") is not None else "row"
    value = row.get(column.name)
    if column.pii:
        shown = "<hidden: personal data>"
    elif isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        shown = repr(value[:SHOWN_CHARACTERS]) + f"... ({len(value):,} characters)"
    else:
        shown = repr(value)
    return f"{row.get('_source_file')} {where}{' (' + key + ')' if key else ''}: {shown}"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _row_ids(con: duckdb.DuckDBPyConnection, sql: str) -> list[int]:
    return con.execute(sql).fetchnumpy()["_row_id"].tolist()


# The CSV header is line 1; _row_id restarts per file at 1 for the first data row.
LINE = f"(_row_id % {ROWS_PER_FILE}) + 1 as _line"


@dataclass(frozen=True)
class Scope:
    """Which rows of one source this night judges: those read tonight (`_row_id` from
    `first_new` on, since a file read later always gets a higher number)."""
    source: Source
    first_new: int | None  # None: the source read nothing new tonight
    lost: frozenset[str]  # sources that lost a file's rows tonight

    @property
    def new(self) -> str:
        return "false" if self.first_new is None else f"_row_id >= {self.first_new}"


def _scope(con: duckdb.DuckDBPyConnection, source: Source) -> Scope:
    first, = con.execute(f"select min(file_no) from {LEDGER} where source_name = ? "
                         "and status = 'loaded'", [source.name]).fetchone()
    lost = {s for s, in con.execute(
        f"select distinct source_name from {LEDGER} where status = 'removed'").fetchall()}
    return Scope(source, None if first is None else first * ROWS_PER_FILE, frozenset(lost))


Findings = dict[tuple[str, str], list[int]]  # (column, rule) -> the rows that break it


def _parse_problems(con: duckdb.DuckDBPyConnection, scope: Scope) -> Findings:
    """Rules on one row that GX cannot check by value: a text parses as its type, and a
    funded loan has the dates that funding sets. One pass over tonight's rows."""
    source = scope.source
    rules = []
    for column in source.columns:
        pattern = PARSES.get(column.kind)
        if pattern is None:
            continue
        name = _quote(column.name)
        cast_fails = (f"or try_cast({name} as {SQL_TYPE[column.kind]}) is null"
                      if column.kind in SQL_TYPE else "")
        bad = (f"{name} is not null and (not regexp_full_match(trim({name}), '{pattern}') "
               f"{cast_fails})")
        rules.append((column.name, f"type.{column.kind}", bad))
        if column.kind == "decimal":
            rules.append((column.name, "type.decimal.too_large",
                          f"{name} is not null and not ({bad}) "
                          f"and not abs(try_cast(trim({name}) as double)) < {DECIMAL_LIMIT}"))
    if source.name == "loans":
        for column_name in ("close_date", "first_payment_date"):
            rules.append((column_name, "funded_loan_has_date",
                          f"lower(status) = 'funded' and {column_name} is null"))
    if not rules or scope.first_new is None:
        return {}
    counts = con.execute(
        "select " + ", ".join(f"count_if({condition})" for _, _, condition in rules)
        + f" from raw.{source.name} where {scope.new}").fetchone()
    return {
        (column_name, rule): _row_ids(con, f"select _row_id from raw.{source.name} "
                                           f"where {scope.new} and {condition} order by _row_id")
        for (column_name, rule, condition), count in zip(rules, counts, strict=True) if count
    }


def _expectations(source: Source, only: set[tuple[str, str]] | None = None):
    _gx_batch_definition()  # GX needs its context before a suite can be built
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"landing.{source.name}")

    def add(expectation, column: str, rule: str, **arguments) -> None:
        if only is None or (column, rule) in only:
            suite.add_expectation(expectation(column=column, meta={"column": column,
                                                                   "rule": rule}, **arguments))

    for column in source.columns:
        c = column.name
        if column.required:
            add(gx.expectations.ExpectColumnValuesToNotBeNull, c, "not_null")
        if column.allowed:
            add(gx.expectations.ExpectColumnValuesToBeInSet, c, "allowed_values",
                value_set=[v.lower() for v in column.allowed])
        if column.pattern:
            add(gx.expectations.ExpectColumnValuesToMatchRegex, c, "format",
                regex=column.pattern)
        low = column.min if column.min is not None else column.min_exclusive
        high = column.max if column.max is not None else column.max_exclusive
        if low is not None or high is not None:
            add(gx.expectations.ExpectColumnValuesToBeBetween, c, column.rule or "range",
                min_value=low, max_value=high, strict_min=column.min_exclusive is not None,
                strict_max=column.max_exclusive is not None)
    return suite


_gx_lock = threading.Lock()


def _import_gx():
    """GX imports pyspark when it is installed, for Spark batches we never use: hide it while GX
    loads (0.4 s, and a pandas warning on stderr each night). A Spark night imports pyspark
    itself later, unaffected."""
    hidden = "pyspark" not in sys.modules
    if hidden:
        sys.modules["pyspark"] = None  # `import pyspark` raises ImportError
    try:
        import great_expectations
    finally:
        if hidden:
            del sys.modules["pyspark"]
    return great_expectations


@cache
def _gx_context_batch_definition():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every frame it is handed below this many bytes (an MD5 over
    # `pd.util.hash_pandas_object`), for the batch's markers alone: nothing here reads them, and
    # the batch's id does not depend on them. A third of GX's time at a million loans.
    pandas_execution_engine.HASH_THRESHOLD = 0

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("landing").add_dataframe_asset("landing_file")
    return asset.add_batch_definition_whole_dataframe("whole")


def _gx_batch_definition():
    with _gx_lock:  # warm_up() may be building it on another thread
        return _gx_context_batch_definition()


def warm_up() -> threading.Thread:
    """Import GX (3 to 4 s) and build its context on a thread, while the caller reads files."""
    thread = threading.Thread(target=_gx_batch_definition, name="gx-warm-up", daemon=True)
    thread.start()
    return thread


SMALL = 4096


def _distinct_values(con: duckdb.DuckDBPyConnection, scope: Scope, columns: list[Column],
                     chunk_rows: int):
    """Frames of each column's distinct values among tonight's rows, as GX gets them. Columns
    with about as many values (within a factor of 4) share a frame, a shorter one repeating its
    values to the longest (a repeat changes no verdict): a million e-mail addresses do not make
    GX read a state code a million times."""
    import numpy as np
    import pandas as pd

    values = {
        c.name: con.execute(
            f"select distinct {_gx_value(c)} as v from raw.{scope.source.name} "
            f"where {scope.new}").df()["v"]
        for c in columns
    }
    sizes: dict[int, dict] = {}  # a few thousand values or fewer share one frame
    for name, column_values in values.items():
        size = max(len(column_values), SMALL).bit_length() // 2
        sizes.setdefault(size, {})[name] = column_values
    for group in sizes.values():
        longest = max(len(v) for v in group.values())
        for start in range(0, longest, chunk_rows):
            positions = np.arange(start, min(start + chunk_rows, longest))
            yield pd.DataFrame({name: v.take(positions % len(v)).reset_index(drop=True)
                                for name, v in group.items()})


def _column_problems(
    con: duckdb.DuckDBPyConnection, scope: Scope, chunk_rows: int
) -> Findings:
    """Run the source's GX suite over the distinct values of tonight's rows; the rows that hold
    a value GX rejects break the rule."""
    import pyarrow as pa

    source = scope.source
    if scope.first_new is None:
        return {}  # GX is not even imported on a night that read nothing new
    suite = _expectations(source)
    if not suite.expectations:
        return {}
    columns = list(dict.fromkeys(source.column(e.column) for e in suite.expectations))
    rules = [(e.meta["column"], e.meta["rule"]) for e in suite.expectations]
    suites = {}  # the frame's columns -> the expectations on them
    batch_definition = _gx_batch_definition()
    rejected: dict[tuple[str, str], set] = {}
    for frame in _distinct_values(con, scope, columns, chunk_rows):
        names = tuple(frame.columns)
        if names not in suites:
            suites[names] = _expectations(source, {r for r in rules if r[0] in names})
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        failed = {(o.expectation_config.meta["column"], o.expectation_config.meta["rule"])
                  for o in batch.validate(suites[names], result_format="BOOLEAN_ONLY").results
                  if not o.success}
        if not failed:
            continue
        # Only a failing rule is asked for the values it rejects.
        detail = batch.validate(_expectations(source, failed), result_format="COMPLETE")
        for outcome in detail.results:
            meta = outcome.expectation_config.meta
            rejected.setdefault((meta["column"], meta["rule"]), set()).update(
                outcome.result.get("unexpected_list") or [])
    found = {}
    for (column_name, rule), bad in rejected.items():
        column = source.column(column_name)
        where = f"{_typed(column)} is null"
        if rule != "not_null":
            con.register("rejected_values", pa.table({"v": list(bad)}))
            where = f"{_typed(column)} in (select v from rejected_values)"
        try:
            found[(column_name, rule)] = _row_ids(
                con, f"select _row_id from raw.{source.name} where {scope.new} and {where} "
                     "order by _row_id")
        finally:
            if rule != "not_null":
                con.unregister("rejected_values")
    return found


def _key_problems(con: duckdb.DuckDBPyConnection, scope: Scope) -> Findings:
    """State sources: a key twice in one file. Logs: one event_id with different content."""
    source = scope.source
    if not source.key or scope.first_new is None and source.kind == "state":
        return {}
    keys = ", ".join(_quote(k) for k in source.key)
    present = " and ".join(f"{_quote(k)} is not null" for k in source.key)
    table = f"raw.{source.name}"
    if source.kind == "state":
        # a file is read whole or kept whole, so only tonight's files can repeat a key
        rule = "key.unique"
        sql = f"""
            with repeated as (
                select {keys}, _source_file from {table} where {scope.new} and {present}
                group by all having count(*) > 1)
            select _row_id from {table} semi join repeated using ({keys}, _source_file)
            where {scope.new} order by _row_id"""
    elif source.key == ("event_id",):
        rule = "key.same_content"
        content = ", ".join(_quote(c) for c in source.column_names if c != "event_id")
        # tonight's ids, and those of rows set aside before, since their partner may be gone;
        # on a night that read every file, every id
        touched = "" if scope.first_new == 0 else f"""
            semi join (
                select {keys} from {table} where {scope.new} and {present}
                union
                select {keys} from {table} where _row_id in (
                    select row_id from validation.quarantine
                    where source_name = '{source.name}' and rule = '{rule}')
            ) as touched using ({keys})"""
        sql = f"""
            with repeated as (
                select {keys} from {table} {touched} where {present}
                group by all having count(*) > 1),
            deliveries as (
                select _row_id,
                       count(distinct ({content})) over (partition by {keys}) as contents,
                       row_number() over (partition by {keys} order by _source_file, _row_id)
                           as delivery
                from {table} semi join repeated using ({keys}))
            select _row_id from deliveries where contents > 1 and delivery > 1
            order by _row_id"""
    else:
        return {}
    ids = _row_ids(con, sql)
    return {(source.key[0], rule): ids} if ids else {}


def _foreign_key_problems(con: duckdb.DuckDBPyConnection, scope: Scope) -> Findings:
    """Rows whose reference is not in the parent source: tonight's rows and those set aside
    before; every row when the parent lost a file tonight."""
    source = scope.source
    found = {}
    for fk in source.foreign_keys:
        rule = f"foreign_key.{fk.source}"
        set_aside = (f"_row_id in (select row_id from validation.quarantine "
                     f"where source_name = '{source.name}' and rule = '{rule}')")
        if fk.source in scope.lost:
            judged = ["true"]
        else:  # one query each, so that tonight's rows are found by `_row_id` alone
            judged = [scope.new] if scope.first_new is not None else []
            if con.execute("select count(*) from validation.quarantine "
                           "where source_name = ? and rule = ?",
                           [source.name, rule]).fetchone()[0]:
                judged.append(set_aside)
        column, target = _quote(fk.column), _quote(fk.target_column)
        ids = sorted({i for where in judged for i in _row_ids(con, f"""
            select _row_id from raw.{source.name}
            where {where} and {column} is not null
              and {column} not in (select {target} from raw.{fk.source}
                                   where {target} is not null)""")})
        if ids:
            found[(fk.column, rule)] = ids
    return found


def _carried_problems(con: duckdb.DuckDBPyConnection, scope: Scope) -> Findings:
    """Rows set aside by an earlier night for a rule on the row alone: the verdict stands while
    the row's file is unchanged (a changed file's rows left the quarantine with it)."""
    across = " and ".join(f"rule not like '{prefix}%'" for prefix in ACROSS_ROWS)
    found: Findings = {}
    for column_name, rule, row_id in con.execute(
            f"select column_name, rule, row_id from validation.quarantine "
            f"where source_name = ? and {across} order by row_id",
            [scope.source.name]).fetchall():
        found.setdefault((column_name, rule), []).append(row_id)
    return found


def _problem(
    con: duckdb.DuckDBPyConnection, source: Source, column_name: str, rule: str, ids: list[int]
) -> Problem:
    column = source.column(column_name)
    ids = sorted(set(ids))
    numbers = sorted({i // ROWS_PER_FILE for i in ids})
    files = [f for f, in con.execute(
        f"select distinct file from {LEDGER} where source_name = ? and status <> 'removed' "
        f"and list_contains(?, file_no) order by file", [source.name, numbers]).fetchall()]
    shown = ", ".join(str(i) for i in ids[:EXAMPLES])
    rows = _rows(con, f"select *, {LINE} from raw.{source.name} where _row_id in ({shown}) "
                      "order by _row_id")
    return Problem(
        file=", ".join(files) or source.name, source=source.name, column=column_name,
        rule=rule, count=len(ids), examples=tuple(_example(r, source, column) for r in rows),
        row_ids=tuple(ids),
    )


def validate_source(
    con: duckdb.DuckDBPyConnection, source: Source, chunk_rows: int = 1_000_000,
    quarantine_max_share: float = 0.05,
) -> list[Problem]:
    """Every broken rule of one raw source. Problems in sources that quarantine are non-fatal
    unless their rows exceed the configured share."""
    scope = _scope(con, source)
    findings: Findings = {}
    for found in (_parse_problems(con, scope), _column_problems(con, scope, chunk_rows),
                  _key_problems(con, scope), _foreign_key_problems(con, scope),
                  _carried_problems(con, scope)):
        for key, ids in found.items():
            findings.setdefault(key, []).extend(ids)
    problems = [_problem(con, source, column, rule, ids)
                for (column, rule), ids in findings.items()]
    if not source.quarantine or not problems:
        return problems
    total = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]
    bad_rows = {i for p in problems for i in p.row_ids}
    if len(bad_rows) > quarantine_max_share * total:
        return [replace(p, rule=f"{p.rule} (over the quarantine share "
                               f"{quarantine_max_share:.0%}: {len(bad_rows)} of {total} rows)")
                for p in problems]
    return [replace(p, fatal=False) for p in problems]


def validate_landing_zone(
    con: duckdb.DuckDBPyConnection, assets_dir: Path = ASSETS_DIR
) -> list[Problem]:
    config = settings(assets_dir)
    problems = []
    for source in SOURCES.values():
        problems += validate_source(
            con, source, config["gx_chunk_rows"], config["quarantine_max_share"])
    return problems
