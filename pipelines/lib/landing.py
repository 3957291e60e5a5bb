"""Read the landing zone's files, as they arrived, into the warehouse's `raw` schema."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.lib.problems import Problem
from pipelines.lib.sources import SOURCES, Source

SUFFIXES = (".csv", ".parquet")
SAFE_CSV_ERROR_LINES = ("Invalid Input Error: CSV Error on Line", "Expected Number of Columns",
                        "Invalid unicode", "Value with unterminated quote", "Maximum line size")


def source_files(landing: Path, source: Source) -> list[Path]:
    """A source is `<name>.csv`, `<name>.parquet`, or a folder `<name>/` of such files (drops)."""
    files = [landing / f"{source.name}{suffix}" for suffix in SUFFIXES]
    files = [f for f in files if f.is_file()]
    folder = landing / source.name
    if folder.is_dir():
        files += sorted(f for f in folder.iterdir() if f.suffix.lower() in SUFFIXES)
    return files


def landing_fingerprint(landing: Path) -> str:
    """SHA-256 over every source file's name and bytes: what run_id derives from."""
    digest = hashlib.sha256()
    for source in SOURCES.values():
        for path in source_files(landing, source):
            digest.update(str(path.relative_to(landing)).encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class LoadedSource:
    name: str
    files: tuple[str, ...]
    rows: int


class UnreadableFile(ValueError):
    def __init__(self, rule: str, detail: str):
        super().__init__(detail)
        self.rule = rule


def _csv_header(path: Path) -> list[str]:
    """The header row, read here so DuckDB never has to guess the dialect (its sniffer can
    take a ragged file for another shape and drop rows)."""
    with path.open("rb") as handle:
        first = handle.readline()
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("file.utf8", "line 1 is not UTF-8") from None
    return next(csv.reader([text.rstrip("\r\n")]))


def _read_relation(path: Path) -> str:
    """SQL that reads one file with every column as text."""
    literal = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        return f"select * from read_parquet('{literal}')"
    header = _csv_header(path)
    if len(set(h.lower() for h in header)) != len(header):
        raise UnreadableFile("file.csv_format", f"repeated column names in the header: {header}")
    columns = ", ".join("'" + h.replace("'", "''") + "': 'VARCHAR'" for h in header)
    # An explicit dialect: a file in another delimiter reads as one column and fails the
    # required-column rule; a row with the wrong number of fields is an error.
    return (
        f"select * from read_csv('{literal}', header = true, auto_detect = false, "
        f"columns = {{{columns}}}, delim = ',', quote = '\"', escape = '\"', "
        "strict_mode = true, null_padding = false, max_line_size = 16777216)"
    )


def _as_text(column: str, kind: str) -> str:
    """A typed Parquet value as the text a CSV would carry: timestamps in ISO with their
    offset (UTC), so both formats meet the same rules."""
    quoted = '"' + column.replace('"', '""') + '"'
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"strftime(timezone('UTC', {quoted}), '%Y-%m-%dT%H:%M:%S.%fZ')"
    if kind.startswith("TIMESTAMP"):
        return f"strftime({quoted}, '%Y-%m-%dT%H:%M:%S.%f')"
    return f"cast({quoted} as varchar)"


def _file_problem(path: Path, source: Source, rule: str, detail: str) -> Problem:
    return Problem(file=str(path), source=source.name, column="*", rule=rule, count=1,
                   examples=(detail,), fatal=True)


def _load_file(
    con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str
) -> list[Problem]:
    if path.stat().st_size == 0:
        return [_file_problem(path, source, "file.not_empty", "the file is empty (0 bytes)")]
    try:
        con.execute(f"create or replace temp table {table} as {_read_relation(path)}")
    except UnreadableFile as exc:
        return [_file_problem(path, source, exc.rule, str(exc))]
    except duckdb.Error as exc:
        # DuckDB's message quotes the file's rows, which hold personal data: keep only the
        # line number and its own sentence about what was wrong.
        lines = [line for line in str(exc).splitlines()
                 if line.startswith(SAFE_CSV_ERROR_LINES)][:3]
        rule = "file.utf8" if "unicode" in str(exc).lower() else "file.csv_format"
        return [_file_problem(path, source, rule, " ".join(lines)[:300])]
    described = con.execute(f"describe {table}").fetchall()
    columns = [r[0] for r in described]
    lowered = [c.lower().strip() for c in columns]
    # Column names come from the file: quoted as identifiers, never spliced as SQL.
    renames = ", ".join(
        f'{_as_text(old, kind)} as "{new.replace(chr(34), chr(34) * 2)}"'
        for (old, kind, *_), new in zip(described, lowered, strict=True)
    )
    con.execute(f"create or replace temp table {table} as select {renames} from {table}")
    # A nullable column may be left out of a file ("may carry published_on"): it reads as null.
    missing = [c.name for c in source.columns if c.required and c.name not in lowered]
    problems = []
    for column in missing:
        problems.append(Problem(file=str(path), source=source.name, column=column,
                                rule="column.present", count=1,
                                examples=(f"columns found: {', '.join(lowered)[:200]}",),
                                fatal=True))
    return problems


def load_source(
    con: duckdb.DuckDBPyConnection, landing: Path, source: Source
) -> tuple[LoadedSource, list[Problem]]:
    """Replace `raw.<source>` with the union of the source's files, each row keeping its file
    and a stable `_row_id`. Missing optional sources become empty tables."""
    files = source_files(landing, source)
    problems: list[Problem] = []
    if not files and source.required:
        problems.append(Problem(file=str(landing / f"{source.name}.csv"), source=source.name,
                                column="*", rule="file.present", count=1,
                                examples=("required source is missing",), fatal=True))
    parts = []
    for index, path in enumerate(files):
        table = f"landing_{source.name}_{index}"
        file_problems = _load_file(con, path, source, table)
        problems += file_problems
        if not file_problems:
            relative = path.relative_to(landing).as_posix().replace("'", "''")
            parts.append(
                f"select *, '{relative}' as _source_file, "
                f"{index} * 1000000000 + row_number() over () as _row_id from {table}"
            )
    con.execute("create schema if not exists raw")
    typed_empty = ", ".join(f'cast(null as varchar) as "{c}"' for c in source.column_names)
    empty = (f"select {typed_empty}, cast(null as varchar) as _source_file, "
             "cast(null as bigint) as _row_id where false")
    body = " union all by name ".join([empty, *parts])
    con.execute(
        f"create or replace table raw.{source.name} as "
        f"select *, current_timestamp as _loaded_at from ({body}) as arrived"
    )
    rows = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]
    if source.required and files and not problems and rows == 0:
        problems.append(Problem(file=str(files[0]), source=source.name, column="*",
                                rule="file.has_rows", count=1,
                                examples=("required source has a header but no rows",),
                                fatal=True))
    loaded = LoadedSource(source.name, tuple(str(f) for f in files), rows)
    return loaded, problems


def load_landing_zone(
    con: duckdb.DuckDBPyConnection, landing: Path
) -> tuple[list[LoadedSource], list[Problem]]:
    if not landing.is_dir():
        raise FileNotFoundError(f"landing zone {landing} is not a folder")
    loaded, problems = [], []
    for source in SOURCES.values():
        one, found = load_source(con, landing, source)
        loaded.append(one)
        problems += found
    return loaded, problems
