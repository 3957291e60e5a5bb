"""Check the raw landing zone against every INPUTS.md rule before anything is built from it.

Column rules run through Great Expectations (GX Core, ephemeral context, pandas batches), so a
lender reads GX's own validation result. Rules GX cannot check batch by batch — whether a text
parses as its type, key uniqueness, foreign keys — run as DuckDB SQL and are reported in the
same shape.
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import cache
from pathlib import Path

import duckdb
import yaml

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
    """The column as the value GX compares: numbers and dates cast, text lower-cased for sets."""
    name = _quote(column.name)
    if column.kind in ("decimal", "integer"):
        return f"try_cast({name} as double)"
    if column.kind == "boolean":
        return f"lower({name})"
    if column.allowed:
        return f"lower({name})"
    return name


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


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _problem_from_rows(
    source: Source, column: Column, rule: str, rows: list[dict], count: int
) -> Problem:
    files = sorted({r["_source_file"] for r in rows}) or [source.name]
    return Problem(
        file=", ".join(files), source=source.name, column=column.name, rule=rule,
        count=count, examples=tuple(_example(r, source, column) for r in rows[:EXAMPLES]),
        row_ids=tuple(r["_row_id"] for r in rows),
    )


# The CSV header is line 1; _row_id restarts per file at 1 for the first data row.
LINE = "(_row_id % 1000000000) + 1 as _line"


def _parse_problems(con: duckdb.DuckDBPyConnection, source: Source) -> list[Problem]:
    problems = []
    for column in source.columns:
        pattern = PARSES.get(column.kind)
        if pattern is None:
            continue
        name = _quote(column.name)
        cast_fails = (
            f"or try_cast({name} as {SQL_TYPE[column.kind]}) is null"
            if column.kind in SQL_TYPE else ""
        )
        bad = (f"{name} is not null and (not regexp_full_match(trim({name}), '{pattern}') "
               f"{cast_fails})")
        rows = _rows(con, f"select *, {LINE} from raw.{source.name} where {bad} order by _row_id")
        if rows:
            problems.append(
                _problem_from_rows(source, column, f"type.{column.kind}", rows, len(rows))
            )
        if column.kind == "decimal":
            too_large = (f"{name} is not null and not ({bad}) "
                         f"and not abs(try_cast(trim({name}) as double)) < {DECIMAL_LIMIT}")
            rows = _rows(con, f"select *, {LINE} from raw.{source.name} where {too_large} "
                              "order by _row_id")
            if rows:
                problems.append(_problem_from_rows(source, column, "type.decimal.too_large",
                                                   rows, len(rows)))
    return problems


def _expectations(source: Source):
    _gx_batch_definition()  # GX needs its context before a suite can be built
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"landing.{source.name}")
    for column in source.columns:
        c = column.name
        meta = {"column": c}
        if column.required:
            suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(
                column=c, meta={**meta, "rule": "not_null"}))
        if column.allowed:
            suite.add_expectation(gx.expectations.ExpectColumnValuesToBeInSet(
                column=c, value_set=[v.lower() for v in column.allowed],
                meta={**meta, "rule": "allowed_values"}))
        if column.pattern:
            suite.add_expectation(gx.expectations.ExpectColumnValuesToMatchRegex(
                column=c, regex=column.pattern, meta={**meta, "rule": "format"}))
        low = column.min if column.min is not None else column.min_exclusive
        high = column.max if column.max is not None else column.max_exclusive
        if low is not None or high is not None:
            rule = column.rule or "range"
            suite.add_expectation(gx.expectations.ExpectColumnValuesToBeBetween(
                column=c, min_value=low, max_value=high,
                strict_min=column.min_exclusive is not None,
                strict_max=column.max_exclusive is not None,
                meta={**meta, "rule": rule}))
    return suite


@cache
def _gx_batch_definition():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("landing").add_dataframe_asset("landing_file")
    return asset.add_batch_definition_whole_dataframe("whole")


def _column_problems(
    con: duckdb.DuckDBPyConnection, source: Source, chunk_rows: int
) -> list[Problem]:
    """Run the source's GX suite over the typed rows, one chunk at a time."""
    total = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]
    if total == 0:
        return []
    suite = _expectations(source)
    batch_definition = _gx_batch_definition()
    select = ", ".join(f"{_typed(c)} as {_quote(c.name)}" for c in source.columns)
    found: dict[tuple[str, str], list] = {}
    for offset in range(0, total, chunk_rows):
        frame = con.execute(
            f"select _row_id, {select} from raw.{source.name} "
            f"order by _row_id limit {chunk_rows} offset {offset}"
        ).df()
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": ["_row_id"]})
        for outcome in result.results:
            if outcome.success:
                continue
            meta = outcome.expectation_config.meta
            ids = [int(i["_row_id"]) for i in outcome.result.get("unexpected_index_list") or []]
            found.setdefault((meta["column"], meta["rule"]), []).extend(ids)
    problems = []
    for (column_name, rule), ids in found.items():
        column = source.column(column_name)
        shown = ", ".join(str(i) for i in sorted(ids)[:EXAMPLES])
        rows = _rows(con, f"select *, {LINE} from raw.{source.name} where _row_id in ({shown}) "
                          "order by _row_id")
        problem = _problem_from_rows(source, column, rule, rows, len(ids))
        problems.append(replace(problem, row_ids=tuple(sorted(ids))))
    return problems


def _key_problems(con: duckdb.DuckDBPyConnection, source: Source) -> list[Problem]:
    """State sources: a key twice in one file. Logs: one event_id with different content."""
    if not source.key:
        return []
    keys = ", ".join(_quote(k) for k in source.key)
    column = source.column(source.key[0])
    if source.kind == "state":
        partition, rule = f"{keys}, _source_file", "key.unique"
        clash = "count(*) over (partition by " + partition + ") > 1"
    elif source.key == ("event_id",):
        content = ", ".join(_quote(c) for c in source.column_names if c != "event_id")
        rule = "key.same_content"
        clash = (f"count(distinct ({content})) over (partition by {keys}) > 1 "
                 f"and row_number() over (partition by {keys} order by _source_file, _row_id) > 1")
    else:
        return []
    rows = _rows(con, f"""
        select *, {LINE} from (select *, {clash} as clashes from raw.{source.name}
                               where {" and ".join(f"{_quote(k)} is not null" for k in source.key)})
        where clashes order by _row_id""")
    return [_problem_from_rows(source, column, rule, rows, len(rows))] if rows else []


def _foreign_key_problems(con: duckdb.DuckDBPyConnection, source: Source) -> list[Problem]:
    problems = []
    for fk in source.foreign_keys:
        rows = _rows(con, f"""
            select child.*, (child._row_id % 1000000000) + 1 as _line
            from raw.{source.name} as child
            where child.{_quote(fk.column)} is not null
              and child.{_quote(fk.column)} not in (
                  select {_quote(fk.target_column)} from raw.{fk.source}
                  where {_quote(fk.target_column)} is not null)
            order by child._row_id""")
        if rows:
            problems.append(_problem_from_rows(
                source, source.column(fk.column), f"foreign_key.{fk.source}", rows, len(rows)))
    return problems


def _business_problems(con: duckdb.DuckDBPyConnection, source: Source) -> list[Problem]:
    """Rules across columns: a funded loan has the dates that funding sets."""
    if source.name != "loans":
        return []
    problems = []
    for column_name in ("close_date", "first_payment_date"):
        rows = _rows(con, f"""
            select *, {LINE} from raw.loans
            where lower(status) = 'funded' and {column_name} is null order by _row_id""")
        if rows:
            problems.append(_problem_from_rows(
                source, source.column(column_name), "funded_loan_has_date", rows, len(rows)))
    return problems


def validate_source(
    con: duckdb.DuckDBPyConnection, source: Source, chunk_rows: int = 1_000_000,
    quarantine_max_share: float = 0.05,
) -> list[Problem]:
    """Every broken rule of one raw source. Problems in sources that quarantine are non-fatal
    unless their rows exceed the configured share."""
    problems = (
        _parse_problems(con, source)
        + _column_problems(con, source, chunk_rows)
        + _key_problems(con, source)
        + _foreign_key_problems(con, source)
        + _business_problems(con, source)
    )
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
