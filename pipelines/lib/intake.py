"""The intake stage: load the landing zone into `raw`, validate it, keep the results."""

from __future__ import annotations

import json
from datetime import date

import duckdb

from pipelines.lib.bulk import insert_rows
from pipelines.lib.landing import LEDGER, QUARANTINE_DDL
from pipelines.lib.problems import Problem
from pipelines.lib.validation import validate_landing_zone

RESULT_COLUMNS = ("as_of_date", "run_id", "source_name", "file", "column_name", "rule",
                  "row_count", "outcome", "examples")
RESULTS_DDL = """
    create table if not exists validation.results (
        as_of_date date, run_id varchar, source_name varchar, file varchar,
        column_name varchar, rule varchar, row_count bigint, outcome varchar,
        examples varchar)"""


def record_problems(
    con: duckdb.DuckDBPyConnection, as_of: date, run_id: str, problems: list[Problem],
    fresh: bool = False,
) -> None:
    """Add to `validation.results` (history by as_of and run; `fresh` starts this run's rows
    over)."""
    con.execute("create schema if not exists validation")
    con.execute(RESULTS_DDL)
    if fresh:
        con.execute("delete from validation.results where as_of_date = ? and run_id = ?",
                    [as_of, run_id])
    insert_rows(con, "validation.results", RESULT_COLUMNS,
                [[as_of, run_id, p.source, p.file, p.column, p.rule, p.count,
                  "refused" if p.fatal else "quarantined", json.dumps(list(p.examples))]
                 for p in problems])


def record_quarantine(con: duckdb.DuckDBPyConnection, problems: list[Problem]) -> None:
    """Rebuild `validation.quarantine`, which staging reads to leave the quarantined rows out:
    every row set aside, tonight's and those an unchanged file still holds."""
    con.execute(QUARANTINE_DDL)
    con.execute("delete from validation.quarantine")
    rows = [(p.source, i, p.column, p.rule) for p in problems if not p.fatal for i in p.row_ids]
    insert_rows(con, "validation.quarantine", ["source_name", "row_id", "column_name", "rule"],
                rows)


def recorded_problems(con: duckdb.DuckDBPyConnection, as_of: date, run_id: str) -> list[Problem]:
    con.execute("create schema if not exists validation")
    con.execute(RESULTS_DDL)
    rows = con.execute(
        """select file, source_name, column_name, rule, row_count, examples, outcome
           from validation.results where as_of_date = ? and run_id = ?""",
        [as_of, run_id]).fetchall()
    return [Problem(file=f, source=s, column=c, rule=r, count=n, examples=tuple(json.loads(e)),
                    fatal=o == "refused") for f, s, c, r, n, e, o in rows]


def validate_intake(con: duckdb.DuckDBPyConnection, as_of: date, run_id: str) -> list[Problem]:
    """Every problem of this run's load. Rules on rows are checked only once every file read
    and every required column arrived; the loader recorded any file-level problem already.
    Files read tonight count as validated once nothing stops the night; a later night keeps
    their rows and verdicts while the files are unchanged."""
    file_level = recorded_problems(con, as_of, run_id)
    if file_level:
        return file_level
    problems = validate_landing_zone(con)
    record_problems(con, as_of, run_id, problems)
    record_quarantine(con, problems)
    if not any(p.fatal for p in problems):
        con.execute(f"update {LEDGER} set status = 'validated' where status = 'loaded'")
    return problems
