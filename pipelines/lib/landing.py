"""Read the landing zone's files, as they arrived, into the warehouse's `raw` schema.

A night reads only the files it has not read before. `ops.landing_files` holds, for every file
whose rows `raw` keeps, its SHA-256 (and size and mtime, for people): a file whose path and
bytes match an entry of a published night keeps its rows; a new file is read; a changed or
vanished file's rows leave `raw` (a changed one is then read again). The content hash, not the
mtime, decides: copies, restores and hard links keep or reset mtimes freely, and the run_id
hashes every byte anyway. When the code that reads or judges files changes, every file is
read again.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import duckdb

from pipelines.lib.paths import ASSETS_DIR
from pipelines.lib.problems import Problem
from pipelines.lib.sources import SOURCES, Source

SUFFIXES = (".csv", ".parquet")
SAFE_CSV_ERROR_LINES = ("Invalid Input Error: CSV Error on Line", "Expected Number of Columns",
                        "Invalid unicode", "Value with unterminated quote", "Maximum line size")
# `_row_id` is file_no * ROWS_PER_FILE + the row's number in its file (1 = the first data row).
ROWS_PER_FILE = 1_000_000_000
LEDGER = "ops.landing_files"
LEDGER_DDL = f"""
    create table if not exists {LEDGER} (
        source_name varchar, file varchar, file_no bigint, bytes bigint,
        modified_at timestamptz, sha256 varchar, rows bigint, intake_version varchar,
        status varchar)"""
# status: 'loaded' (read by this run, not yet validated), 'validated', 'removed' (this run took
# its rows out of raw; kept until the next run so validation knows what left).


def source_files(landing: Path, source: Source) -> list[Path]:
    """A source is `<name>.csv`, `<name>.parquet`, or a folder `<name>/` of such files (drops)."""
    files = [landing / f"{source.name}{suffix}" for suffix in SUFFIXES]
    files = [f for f in files if f.is_file()]
    folder = landing / source.name
    if folder.is_dir():
        files += sorted(f for f in folder.iterdir() if f.suffix.lower() in SUFFIXES)
    return files


@dataclass(frozen=True)
class LandingFile:
    source: str
    path: Path
    relative: str  # the path inside the landing zone: what `_source_file` holds
    bytes: int
    modified_at: datetime
    sha256: str


_digests: dict[tuple, str] = {}  # (path, size, mtime, ctime, inode) -> SHA-256, this process


def _sha256(path: Path) -> str:
    """A file's SHA-256, computed once per process while the file is untouched (run_id and the
    loader both ask)."""
    status = path.stat()
    key = (str(path.resolve()), status.st_size, status.st_mtime_ns, status.st_ctime_ns,
           status.st_ino)
    if key not in _digests:
        with path.open("rb") as handle:
            _digests[key] = hashlib.file_digest(handle, "sha256").hexdigest()
    return _digests[key]


def landing_files(landing: Path, source: Source) -> list[LandingFile]:
    return [
        LandingFile(source.name, path, path.relative_to(landing).as_posix(), path.stat().st_size,
                    datetime.fromtimestamp(path.stat().st_mtime, UTC), _sha256(path))
        for path in source_files(landing, source)
    ]


def landing_fingerprint(landing: Path) -> str:
    """SHA-256 over every source file's name and bytes: what run_id derives from."""
    digest = hashlib.sha256()
    for source in SOURCES.values():
        for file in landing_files(landing, source):
            digest.update(f"{file.relative}\0{file.sha256}\n".encode())
    return digest.hexdigest()


@cache
def intake_version() -> str:
    """A digest of what decides how a file is read and judged: a file read by other code is
    read again."""
    digest = hashlib.sha256()
    lib = Path(__file__).parent
    for path in (lib / "landing.py", lib / "sources.py", lib / "validation.py",
                 ASSETS_DIR / "validation.yaml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class LoadedSource:
    name: str
    files: tuple[str, ...]
    rows: int
    read: int = 0  # files read by this run; the others kept their rows from an earlier night


class UnreadableFile(ValueError):
    def __init__(self, rule: str, detail: str):
        super().__init__(detail)
        self.rule = rule


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


def _reader(
    con: duckdb.DuckDBPyConnection, path: Path
) -> tuple[str, list[tuple[str, str]], str]:
    """SQL that reads one file, its columns with their types (every CSV column is text), and
    each row's number in the file, from 1."""
    literal = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        described = con.execute(f"describe select * from read_parquet('{literal}')").fetchall()
        # Parquet numbers its rows itself, which costs less than a window over the file.
        return (f"read_parquet('{literal}', file_row_number = true)",
                [(r[0], r[1]) for r in described], "file_row_number + 1")
    header = _csv_header(path)
    if len(set(h.lower() for h in header)) != len(header):
        raise UnreadableFile("file.csv_format", f"repeated column names in the header: {header}")
    columns = ", ".join("'" + h.replace("'", "''") + "': 'VARCHAR'" for h in header)
    # An explicit dialect: a file in another delimiter reads as one column and fails the
    # required-column rule; a row with the wrong number of fields is an error.
    relation = (
        f"read_csv('{literal}', header = true, auto_detect = false, "
        f"columns = {{{columns}}}, delim = ',', quote = '\"', escape = '\"', "
        "strict_mode = true, null_padding = false, max_line_size = 16777216)"
    )
    return relation, [(h, "VARCHAR") for h in header], "row_number() over ()"


def _as_text(column: str, kind: str) -> str:
    """A typed Parquet value as the text a CSV would carry: timestamps in ISO with their
    offset (UTC), so both formats meet the same rules."""
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"strftime(timezone('UTC', {_quote(column)}), '%Y-%m-%dT%H:%M:%S.%fZ')"
    if kind.startswith("TIMESTAMP"):
        return f"strftime({_quote(column)}, '%Y-%m-%dT%H:%M:%S.%f')"
    if kind == "VARCHAR":
        return _quote(column)
    return f"cast({_quote(column)} as varchar)"


def _file_problem(path: Path, source: Source, rule: str, detail: str) -> Problem:
    return Problem(file=str(path), source=source.name, column="*", rule=rule, count=1,
                   examples=(detail,), fatal=True)


def _raw_table(con: duckdb.DuckDBPyConnection, source: Source, fresh: bool) -> None:
    """`raw.<source>`: every column text, then where each row came from."""
    columns = ", ".join(f"{_quote(c)} varchar" for c in source.column_names)
    create = "create or replace table" if fresh else "create table if not exists"
    con.execute(f"{create} raw.{source.name} ({columns}, _source_file varchar, "
                "_row_id bigint, _loaded_at timestamptz)")


def _insert(con: duckdb.DuckDBPyConnection, insert: str, ordered: bool) -> int:
    """Run one file's insert; the rows it added. A Parquet file numbers its rows itself, so
    its rows need not keep their order on the way in, and DuckDB then writes them once instead
    of twice (3M events: 8.2 -> 4.3 CPU s; bench/README.md, "Ingest, validation and dbt's
    first fill"). A CSV file's rows are numbered by `row_number() over ()`, which needs the
    file's order."""
    if ordered:
        return con.execute(insert).fetchone()[0]
    con.execute("set preserve_insertion_order = false")
    try:
        return con.execute(insert).fetchone()[0]
    finally:
        con.execute("reset preserve_insertion_order")


def _load_file(
    con: duckdb.DuckDBPyConnection, file: LandingFile, source: Source, file_no: int
) -> tuple[int, list[Problem]]:
    """Append one file's rows to `raw.<source>`, each column as text under its lower-cased
    name: (rows, problems). A file with a problem adds no row (one statement)."""
    path = file.path
    if file.bytes == 0:
        return 0, [_file_problem(path, source, "file.not_empty", "the file is empty (0 bytes)")]
    try:
        relation, described, row_number = _reader(con, path)
        lowered = [name.lower().strip() for name, _ in described]
        # A nullable column may be left out of a file ("may carry published_on"): null.
        missing = [c.name for c in source.columns if c.required and c.name not in lowered]
        if missing:
            found = f"columns found: {', '.join(lowered)[:200]}"
            return 0, [Problem(file=str(path), source=source.name, column=column,
                               rule="column.present", count=1, examples=(found,), fatal=True)
                       for column in missing]
        known = {r[0] for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = ?", [source.name]).fetchall()}
        for extra in dict.fromkeys(n for n in lowered if n not in known):
            con.execute(f"alter table raw.{source.name} add column {_quote(extra)} varchar")
        # Column names come from the file: quoted as identifiers, never spliced as SQL.
        renames = ", ".join(f"{_as_text(name, kind)} as {_quote(new)}"
                            for (name, kind), new in zip(described, lowered, strict=True))
        relative = file.relative.replace("'", "''")
        insert = (f"insert into raw.{source.name} by name "
                  f"select {renames}, '{relative}' as _source_file, "
                  f"{file_no * ROWS_PER_FILE} + {row_number} as _row_id, "
                  f"current_timestamp as _loaded_at from {relation}")
        rows = _insert(con, insert, ordered=path.suffix.lower() != ".parquet")
    except UnreadableFile as exc:
        return 0, [_file_problem(path, source, exc.rule, str(exc))]
    except duckdb.Error as exc:
        # DuckDB's message quotes the file's rows, which hold personal data: keep only the
        # line number and its own sentence about what was wrong.
        lines = [line for line in str(exc).splitlines()
                 if line.startswith(SAFE_CSV_ERROR_LINES)][:3]
        rule = "file.utf8" if "unicode" in str(exc).lower() else "file.csv_format"
        return 0, [_file_problem(path, source, rule, " ".join(lines)[:300])]
    return rows, []


def _ledger(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, tuple]:
    """The files an earlier published night read and validated, by path: (sha256, file_no)."""
    rows = con.execute(
        f"select file, sha256, file_no from {LEDGER} where source_name = ? "
        "and status = 'validated' and intake_version = ?",
        [source.name, intake_version()]).fetchall()
    return {file: (sha256, file_no) for file, sha256, file_no in rows}


def _forget(con: duckdb.DuckDBPyConnection, source: Source, relative: str, file_no: int) -> None:
    """Take a file's rows (and their quarantine entries) out of raw; validation learns from
    the ledger that the source lost rows."""
    con.execute(f"delete from raw.{source.name} where _source_file = ?", [relative])
    con.execute("delete from validation.quarantine where source_name = ? "
                "and row_id between ? and ?",
                [source.name, file_no * ROWS_PER_FILE, (file_no + 1) * ROWS_PER_FILE - 1])
    con.execute(f"update {LEDGER} set status = 'removed' where source_name = ? and file = ?",
                [source.name, relative])


def load_source(
    con: duckdb.DuckDBPyConnection, landing: Path, source: Source
) -> tuple[LoadedSource, list[Problem]]:
    """Bring `raw.<source>` up to the landing zone: the union of the source's files, each row
    keeping its file and a stable `_row_id`. Missing optional sources become empty tables."""
    files = landing_files(landing, source)
    problems: list[Problem] = []
    if not files and source.required:
        problems.append(Problem(file=str(landing / f"{source.name}.csv"), source=source.name,
                                column="*", rule="file.present", count=1,
                                examples=("required source is missing",), fatal=True))
    known = _ledger(con, source)
    kept = {f.relative for f in files if known.get(f.relative, ("",))[0] == f.sha256}
    con.execute(f"delete from {LEDGER} where source_name = ? and status <> 'validated'",
                [source.name])
    if kept:
        _raw_table(con, source, fresh=False)
        for relative, (_, file_no) in known.items():
            if relative not in kept:
                _forget(con, source, relative, file_no)
    else:  # read every file: start the table over
        _raw_table(con, source, fresh=True)
        con.execute("delete from validation.quarantine where source_name = ?", [source.name])
        con.execute(f"update {LEDGER} set status = 'removed' where source_name = ?",
                    [source.name])
    next_no = max((no for _, no in known.values()), default=-1) + 1 if kept else 0
    for file in files:
        if file.relative in kept:
            continue
        rows, found = _load_file(con, file, source, next_no)
        problems += found
        con.execute(f"insert into {LEDGER} values (?, ?, ?, ?, ?, ?, ?, ?, 'loaded')",
                    [source.name, file.relative, next_no, file.bytes, file.modified_at,
                     file.sha256, rows, intake_version()])
        next_no += 1
    rows = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]
    if source.required and files and not problems and rows == 0:
        problems.append(Problem(file=str(files[0].path), source=source.name, column="*",
                                rule="file.has_rows", count=1,
                                examples=("required source has a header but no rows",),
                                fatal=True))
    loaded = LoadedSource(source.name, tuple(str(f.path) for f in files), rows,
                          read=len(files) - len(kept))
    return loaded, problems


def load_landing_zone(
    con: duckdb.DuckDBPyConnection, landing: Path
) -> tuple[list[LoadedSource], list[Problem]]:
    if not landing.is_dir():
        raise FileNotFoundError(f"landing zone {landing} is not a folder")
    for schema in ("raw", "ops", "validation"):
        con.execute(f"create schema if not exists {schema}")
    con.execute(LEDGER_DDL)
    con.execute(QUARANTINE_DDL)
    loaded, problems = [], []
    for source in SOURCES.values():
        one, found = load_source(con, landing, source)
        loaded.append(one)
        problems += found
    return loaded, problems


QUARANTINE_DDL = """
    create table if not exists validation.quarantine (
        source_name varchar, row_id bigint, column_name varchar, rule varchar)"""
