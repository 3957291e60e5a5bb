"""`ops.nights`: which nights ran, with what code and inputs, and how they ended."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb


def record_night_start(
    con: duckdb.DuckDBPyConnection, as_of: date, run_id: str, code_version: str
) -> None:
    con.execute("create schema if not exists ops")
    con.execute("""
        create table if not exists ops.nights (
            as_of_date date, run_id varchar, code_version varchar, status varchar)""")
    con.execute("delete from ops.nights where status = 'running'")
    con.execute("insert into ops.nights values (?, ?, ?, 'running')",
                [as_of, run_id, code_version])


def record_build_nights(con: duckdb.DuckDBPyConnection, first: date, last: date) -> None:
    """The nights dbt builds in this run: `ops.build_nights`, one row per as_of."""
    con.execute("create schema if not exists ops")
    con.execute("create or replace table ops.build_nights as select cast(range as date) "
                "as as_of_date from range(cast(? as date), cast(? as date) + interval 1 day, "
                "interval 1 day)", [first, last])


def current_night(con: duckdb.DuckDBPyConnection) -> tuple[date, str]:
    as_of, run_id = con.execute(
        "select as_of_date, run_id from ops.nights where status = 'running'").fetchone()
    return as_of, run_id


def finish_night(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("update ops.nights set status = 'published' where status = 'running'")


def record_staged_export(con: duckdb.DuckDBPyConnection, staged: Path | None) -> None:
    """Where tonight's send files wait, private, until the export checks pass."""
    con.execute("create or replace table ops.staged_export (path varchar)")
    if staged is not None:
        con.execute("insert into ops.staged_export values (?)", [str(staged)])


def staged_export(con: duckdb.DuckDBPyConnection) -> Path | None:
    found = con.execute("select path from ops.staged_export").fetchall()
    return Path(found[0][0]) if found else None
