"""The intake stage: load the landing zone into `raw`, validate it, record the results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.landing import LoadedSource, load_landing_zone
from pipelines.lib.problems import Problem
from pipelines.lib.validation import validate_landing_zone


@dataclass(frozen=True)
class Intake:
    loaded: list[LoadedSource]
    problems: list[Problem]

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]

    @property
    def quarantined(self) -> list[Problem]:
        return [p for p in self.problems if not p.fatal]


def _record(con: duckdb.DuckDBPyConnection, as_of: date, run_id: str, problems: list[Problem]):
    """Keep every run's results (history by as_of) and this load's quarantined row ids."""
    con.execute("create schema if not exists validation")
    con.execute("""
        create table if not exists validation.results (
            as_of_date date, run_id varchar, source_name varchar, file varchar,
            column_name varchar, rule varchar, row_count bigint, outcome varchar,
            examples varchar)""")
    con.execute("delete from validation.results where as_of_date = ? and run_id = ?",
                [as_of, run_id])
    for p in problems:
        con.execute(
            "insert into validation.results values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [as_of, run_id, p.source, p.file, p.column, p.rule, p.count,
             "refused" if p.fatal else "quarantined", json.dumps(list(p.examples))])
    con.execute("""
        create or replace table validation.quarantine (
            source_name varchar, row_id bigint, column_name varchar, rule varchar)""")
    rows = [(p.source, i, p.column, p.rule) for p in problems if not p.fatal for i in p.row_ids]
    if rows:
        con.executemany("insert into validation.quarantine values (?, ?, ?, ?)", rows)


def run_intake(warehouse: Path, landing: Path, as_of: date, run_id: str) -> Intake:
    """Load and validate; the connection is closed before anything else writes the file."""
    with duckdb.connect(str(warehouse)) as con:
        loaded, problems = load_landing_zone(con, landing)
        # Rules on rows only make sense once every required column arrived.
        if not any(p.rule in ("column.present", "file.csv_format", "file.utf8", "file.present",
                              "file.not_empty") for p in problems):
            problems += validate_landing_zone(con)
        _record(con, as_of, run_id, problems)
    return Intake(loaded, problems)
