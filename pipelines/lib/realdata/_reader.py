"""Strict, line-numbered reading of published delimited files into typed polars columns.

Polars' CSV reader cannot say which line broke a file, and the published layouts
need that (a truncated line, a wrong field count, a non-numeric value must name the
file and line). So rows are split with the csv module, once, and every conversion
after that is vectorised polars that points back to the physical line number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from pathlib import Path

import polars as pl


class RealDataFormatError(ValueError):
    """A published file does not have the layout its adapter expects."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = Path(path), line, reason
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {reason}")


def read_rows(
    path: Path,
    names: Sequence[str],
    *,
    sep: str = ",",
    header: bool = False,
    quoted: bool = True,
    field_counts: Collection[int] | None = None,
) -> tuple[list[str] | None, pl.DataFrame]:
    """Split a delimited file into String columns `names`, plus `line` (1-based physical
    line of the row) and `n_fields` (fields the row had).

    `field_counts` lists the accepted fields per row (default: exactly len(names));
    shorter accepted rows are padded with nulls. Blank lines are skipped.
    """
    path = Path(path)
    expected = set(field_counts or {len(names)})
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RealDataFormatError(path, data[: e.start].count(b"\n") + 1, "not UTF-8 text") from e
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=sep,
        quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
        strict=True,
    )
    head: list[str] | None = None
    rows: list[list[str | None]] = []
    lines: list[int] = []
    counts: list[int] = []
    try:
        for row in reader:
            if not row:
                continue
            if header and head is None:
                head = row
                continue
            if len(row) not in expected:
                want = " or ".join(map(str, sorted(expected)))
                hint = " (truncated line?)" if len(row) < min(expected) else ""
                raise RealDataFormatError(
                    path, reader.line_num, f"expected {want} fields, found {len(row)}{hint}"
                )
            rows.append(row + [None] * (len(names) - len(row)))
            lines.append(reader.line_num)
            counts.append(len(row))
    except csv.Error as e:
        cut = "unexpected end of data" in str(e)
        reason = "truncated line: a quoted field never ends" if cut else f"malformed line: {e}"
        raise RealDataFormatError(path, reader.line_num, reason) from e
    if not rows:  # a publisher never ships an empty series: the file was cut short
        raise RealDataFormatError(path, None, "no data rows (empty or truncated file)")
    cols = list(zip(*rows))
    frame = pl.DataFrame(
        {n: pl.Series(n, c, dtype=pl.String) for n, c in zip(names, cols)}
        | {"line": pl.Series("line", lines, dtype=pl.UInt32)}
        | {"n_fields": pl.Series("n_fields", counts, dtype=pl.UInt8)}
    )
    return head, frame


def check_header(path: Path, got: Sequence[str] | None, *expected: Sequence[str]) -> None:
    """Refuse a file whose header is none of the published ones (compared case-insensitively)."""
    norm = [c.strip().lower() for c in got or []]
    if not any(norm == [c.lower() for c in e] for e in expected):
        raise RealDataFormatError(
            path, 1, f"unexpected header {list(got or [])}, expected {list(expected[0])}"
        )


def _clean(col: str, missing: Collection[str]) -> pl.Expr:
    c = pl.col(col).str.strip_chars()
    return pl.when(c.is_in(list(missing))).then(None).otherwise(c)


def _convert(
    raw: pl.DataFrame,
    path: Path,
    col: str,
    parsed: pl.Expr,
    ok: pl.Expr,
    missing: Collection[str],
    required: bool,
    what: str,
) -> pl.Series:
    """Evaluate `parsed` on `raw`; refuse the first non-missing value where `ok` fails."""
    checked = raw.select("line", raw=pl.col(col), src=_clean(col, missing), out=parsed)
    bad = pl.col("src").is_not_null() & ~ok.fill_null(False)
    if required:
        bad = bad | pl.col("src").is_null()
    first = checked.filter(bad).head(1)
    if first.height:
        r = first.row(0, named=True)
        raise RealDataFormatError(path, r["line"], f"{col}: {r['raw']!r} is not {what}")
    return checked["out"].alias(col)


def num(
    raw: pl.DataFrame,
    col: str,
    path: Path,
    *,
    missing: Collection[str] = ("",),
    required: bool = True,
) -> pl.Series:
    """Float64 column; `missing` spellings become null, anything else non-numeric is refused."""
    parsed = _clean(col, missing).cast(pl.Float64, strict=False)
    ok = pl.col("out").is_finite()
    return _convert(raw, path, col, parsed, ok, missing, required, "a number")


def integer(
    raw: pl.DataFrame,
    col: str,
    path: Path,
    *,
    missing: Collection[str] = ("",),
    required: bool = True,
) -> pl.Series:
    """Int64 column; accepts integral float text (`12.0`) as some publishers write it."""
    f = _clean(col, missing).cast(pl.Float64, strict=False)
    parsed = pl.when(f.is_finite() & (f == f.round())).then(f).cast(pl.Int64, strict=False)
    ok = pl.col("out").is_not_null()
    return _convert(raw, path, col, parsed, ok, missing, required, "an integer")


def date(
    raw: pl.DataFrame,
    col: str,
    path: Path,
    fmt: str,
    *,
    missing: Collection[str] = ("",),
    required: bool = True,
) -> pl.Series:
    """pl.Date column parsed with `fmt`; for month-only formats the date is the 1st."""
    c = _clean(col, missing)
    if "%d" not in fmt:  # chrono needs a day: MM/YYYY means the first of that month
        parsed = (pl.lit("01/") + c).str.to_date("%d/" + fmt, strict=False)
    else:
        parsed = c.str.to_date(fmt, strict=False)
    ok = pl.col("out").is_not_null()
    return _convert(raw, path, col, parsed, ok, missing, required, f"a date like {fmt}")


def code(
    raw: pl.DataFrame,
    col: str,
    path: Path,
    pattern: str,
    *,
    missing: Collection[str] = ("",),
    required: bool = True,
) -> pl.Series:
    """String column whose values must match the regex `pattern` in full."""
    parsed = _clean(col, missing)
    ok = pl.col("out").str.contains(f"^(?:{pattern})$")
    return _convert(raw, path, col, parsed, ok, missing, required, f"a code matching {pattern}")


def text(raw: pl.DataFrame, col: str, *, missing: Collection[str] = ("",)) -> pl.Series:
    """Free text, stripped; `missing` spellings become null."""
    return raw.select(_clean(col, missing).alias(col)).to_series()


def quarter_start(raw: pl.DataFrame, path: Path, year: str, qtr: str) -> pl.Series:
    """First day of the quarter named by a year column and a quarter (1-4) column."""
    yq = pl.DataFrame([integer(raw, year, path), integer(raw, qtr, path), raw["line"]])
    bad = yq.filter(~pl.col(qtr).is_between(1, 4) | ~pl.col(year).is_between(1900, 2100))
    if bad.height:
        y, q, line = bad.row(0)
        raise RealDataFormatError(
            path, line, f"{year}/{qtr}: {y}/{q} is not a year and quarter 1-4"
        )
    return yq.select(pl.date(year, (pl.col(qtr) - 1) * 3 + 1, 1).alias("period_start")).to_series()


def refuse_duplicates(frame: pl.DataFrame, path: Path, key: Sequence[str]) -> None:
    """Refuse a file that repeats a key: a published series has one value per period."""
    repeats = (
        frame.with_columns(first_line=pl.col("line").min().over(key))
        .filter(pl.col("line") != pl.col("first_line"))
        .sort("line")
    )
    if repeats.height:
        r = repeats.row(0, named=True)
        shown = ", ".join(f"{k}={r[k]}" for k in key)
        raise RealDataFormatError(
            path, r["line"], f"duplicate {shown} (first on line {r['first_line']})"
        )
