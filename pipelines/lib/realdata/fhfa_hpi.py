"""Read FHFA's published quarterly house price index files and map them to landing-zone hpi rows.

Layouts (see shared/realdata/fhfa_hpi/README.md): the all-transactions state, metro and
US/census-division files have no header; the metro file writes `-` for both values
before a series starts and the standard error as `( 7.13)`; the 3-digit ZIP file has
a header and empty cells; the purchase-only state file is tab-delimited with a header.

published_on rule: FHFA releases a quarter in the last week of the second month after
it ends (2024Q3 on 2024-11-26), so a quarter is taken as known on the **last day of the
second month after the quarter ends**: period_start + 4 months, then month end
(Q1 -> May 31, Q2 -> Aug 31, Q3 -> Nov 30, Q4 -> Feb 28/29 of the next year).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ._reader import check_header, code, num, quarter_start, read_rows, refuse_duplicates, text

HPI_SCHEMA = {
    "geo_level": pl.String,
    "geo_code": pl.String,
    "period_start": pl.Date,
    "index_value": pl.Float64,
    "published_on": pl.Date,
}
NATIONAL_REGION = "USA"


def hpi_published_on(period_start: pl.Expr) -> pl.Expr:
    """The day a quarter's index is taken as known: month end, two months after the quarter."""
    return period_start.dt.offset_by("4mo").dt.month_end()


def read_hpi_state(path: Path) -> pl.DataFrame:
    """`hpi_at_state.csv` (no header: state, year, qtr, index_nsa) -> state, period_start,
    index_nsa."""
    path = Path(path)
    _, raw = read_rows(path, ("state", "year", "qtr", "index_nsa"))
    frame = pl.DataFrame(
        [
            raw["line"],
            code(raw, "state", path, "[A-Z]{2}"),
            quarter_start(raw, path, "year", "qtr"),
            num(raw, "index_nsa", path),
        ]
    )
    refuse_duplicates(frame, path, ["state", "period_start"])
    return frame.drop("line")


def read_hpi_us_and_census(path: Path) -> pl.DataFrame:
    """`hpi_at_us_and_census.csv` (no header: region, year, qtr, index_nsa) -> region
    (`USA` or a census division `DV_*`), period_start, index_nsa."""
    path = Path(path)
    _, raw = read_rows(path, ("region", "year", "qtr", "index_nsa"))
    frame = pl.DataFrame(
        [
            raw["line"],
            code(raw, "region", path, "USA|DV_[A-Z]{2,3}"),
            quarter_start(raw, path, "year", "qtr"),
            num(raw, "index_nsa", path),
        ]
    )
    refuse_duplicates(frame, path, ["region", "period_start"])
    return frame.drop("line")


def read_hpi_metro(path: Path) -> pl.DataFrame:
    """`hpi_at_metro.csv` (no header: name, cbsa, year, qtr, index_nsa, index_se) -> metro_name,
    cbsa (a CBSA or, for names ending `(MSAD)`, a metropolitan division code), period_start,
    index_nsa and index_se (Float64; null where FHFA writes `-` before a series starts)."""
    path = Path(path)
    _, raw = read_rows(path, ("metro_name", "cbsa", "year", "qtr", "index_nsa", "index_se"))
    raw = raw.with_columns(pl.col("index_se").str.replace_all(r"^\s*\(\s*|\s*\)\s*$", ""))
    frame = pl.DataFrame(
        [
            raw["line"],
            text(raw, "metro_name"),
            code(raw, "cbsa", path, r"\d{5}"),
            quarter_start(raw, path, "year", "qtr"),
            num(raw, "index_nsa", path, missing=("-",), required=False),
            num(raw, "index_se", path, missing=("-",), required=False),
        ]
    )
    refuse_duplicates(frame, path, ["cbsa", "period_start"])
    return frame.drop("line")


def read_hpi_zip3_quarterly(path: Path) -> pl.DataFrame:
    """`hpi_at_3zip_quarterly.csv` (header zip3,year,quarter,index_nsa,index_type) -> zip3,
    period_start, index_nsa (null where empty), index_type (where FHFA took the value from)."""
    path = Path(path)
    names = ("zip3", "year", "quarter", "index_nsa", "index_type")
    head, raw = read_rows(path, names, header=True)
    check_header(path, head, names)
    frame = pl.DataFrame(
        [
            raw["line"],
            code(raw, "zip3", path, r"\d{3}"),
            quarter_start(raw, path, "year", "quarter"),
            num(raw, "index_nsa", path, required=False),
            text(raw, "index_type"),
        ]
    )
    refuse_duplicates(frame, path, ["zip3", "period_start"])
    return frame.drop("line")


def read_hpi_po_state(path: Path) -> pl.DataFrame:
    """`HPI_PO_state.txt` (tab-delimited, header state,yr,qtr,index_nsa,index_sa,Warning) ->
    state, period_start, index_nsa, index_sa, warning (null where empty)."""
    path = Path(path)
    names = ("state", "yr", "qtr", "index_nsa", "index_sa", "warning")
    head, raw = read_rows(path, names, sep="\t", header=True)
    check_header(path, head, names)
    frame = pl.DataFrame(
        [
            raw["line"],
            code(raw, "state", path, "[A-Z]{2}"),
            quarter_start(raw, path, "yr", "qtr"),
            num(raw, "index_nsa", path),
            num(raw, "index_sa", path),
            text(raw, "warning"),
        ]
    )
    refuse_duplicates(frame, path, ["state", "period_start"])
    return frame.drop("line")


def landing_hpi(
    *,
    state: pl.DataFrame | None = None,
    metro: pl.DataFrame | None = None,
    us_and_census: pl.DataFrame | None = None,
    zip3: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """All-transactions NSA series -> hpi rows (geo_level, geo_code, period_start, index_value,
    published_on); periods without a value are dropped.

    Only all-transactions series go in, one per geography, so a loan's HPI_orig and
    HPI_now always come from the same index. Metropolitan divisions keep their own
    codes under `cbsa` (the contract has no division level; the codes never collide).
    Census divisions have no contract level and are left out; `USA` is `national`/`US`.
    """
    national = None
    if us_and_census is not None:
        national = us_and_census.filter(pl.col("region") == NATIONAL_REGION)
    series = [
        ("state", state, "state"),
        ("cbsa", metro, "cbsa"),
        ("national", national, pl.lit("US")),
        ("zip3", zip3, "zip3"),
    ]
    parts = [
        frame.select(
            geo_level=pl.lit(level),
            geo_code=geo_code,
            period_start="period_start",
            index_value="index_nsa",
        )
        for level, frame, geo_code in series
        if frame is not None
    ]
    if not parts:
        return pl.DataFrame(schema=HPI_SCHEMA)
    return (
        pl.concat(parts)
        .drop_nulls("index_value")
        .with_columns(published_on=hpi_published_on(pl.col("period_start")))
        .sort("geo_level", "geo_code", "period_start")
    )
