"""Read Freddie Mac PMMS weekly mortgage rates (Freddie's history file and FRED CSVs) as published.

`PMMS_history.csv` changes layout at 2022-11-17: Freddie stopped publishing points and
the 5/1 ARM, and from that week every row is quoted with only 4 fields
(`"11/17/2022","6.61","","5.98"`). Older rows have 9 unquoted fields. Both are accepted,
each only on its side of the change, so a row cut short elsewhere is still refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date as Date
from pathlib import Path

import polars as pl

from ._reader import RealDataFormatError, check_header, date, num, read_rows, refuse_duplicates

PMMS_COLUMNS = (
    "pmms30",
    "pmms30p",
    "pmms15",
    "pmms15p",
    "pmms51",
    "pmms51p",
    "pmms51m",
    "pmms51spread",
)
LAYOUT_CHANGE = Date(2022, 11, 17)  # first week of the 4-field quoted layout
SHORT_LAYOUT_FIELDS = 4

# PMMS column / FRED series id -> market_rates product
PRODUCT_BY_COLUMN = {"pmms30": "fixed_30", "pmms15": "fixed_15", "pmms51": "arm_5_1"}
PRODUCT_BY_FRED_SERIES = {
    "MORTGAGE30US": "fixed_30",
    "MORTGAGE15US": "fixed_15",
    "MORTGAGE5US": "arm_5_1",
}

MARKET_RATES_SCHEMA = {
    "rate_date": pl.Date,
    "product": pl.String,
    "rate": pl.Float64,
    "apr": pl.Float64,
    "published_on": pl.Date,
}


def read_pmms_history(path: Path) -> pl.DataFrame:
    """Freddie Mac `PMMS_history.csv` -> one row per survey week: rate_date + 8 Float64 columns
    in percent (rates, points, 5/1 margin and spread), null where not published."""
    path = Path(path)
    names = ("date", *PMMS_COLUMNS)
    head, raw = read_rows(path, names, header=True, field_counts={len(names), SHORT_LAYOUT_FIELDS})
    check_header(path, head, names)
    # Early pmms30p cells hold a single space: strip-then-empty makes that null too.
    frame = pl.DataFrame(
        [raw["line"], raw["n_fields"], date(raw, "date", path, "%m/%d/%Y").alias("rate_date")]
        + [num(raw, c, path, required=c == "pmms30") for c in PMMS_COLUMNS]
    )
    short_early = frame.filter(
        (pl.col("n_fields") == SHORT_LAYOUT_FIELDS) & (pl.col("rate_date") < LAYOUT_CHANGE)
    )
    if short_early.height:
        raise RealDataFormatError(
            path,
            short_early["line"][0],
            f"4 fields before {LAYOUT_CHANGE} (the short layout starts then): truncated line?",
        )
    refuse_duplicates(frame, path, ["rate_date"])
    return frame.drop("line", "n_fields")


def read_fred_series(path: Path) -> pl.DataFrame:
    """A FRED download (`observation_date,MORTGAGE30US` or older `DATE,...`) -> rate_date,
    series_id, rate (percent, Float64; null where FRED writes `.` for no observation)."""
    path = Path(path)
    head, raw = read_rows(path, ("date", "rate"), header=True)
    series = head[1].strip() if head and len(head) == 2 else ""
    check_header(path, head, ("observation_date", series), ("DATE", series))
    frame = pl.DataFrame(
        [
            raw["line"],
            date(raw, "date", path, "%Y-%m-%d").alias("rate_date"),
            pl.Series("series_id", [series] * raw.height, dtype=pl.String),
            num(raw, "rate", path, missing=("", "."), required=False),
        ]
    )
    refuse_duplicates(frame, path, ["rate_date"])
    return frame.drop("line")


def pmms_market_rates(
    history: pl.DataFrame | None, fred: Iterable[pl.DataFrame] = ()
) -> pl.DataFrame:
    """PMMS history and FRED series -> market_rates rows (rate_date, product, rate, apr,
    published_on).

    Freddie's history file wins where both carry a week (they match on every shared week
    checked); FRED extends the 30-year series past the history file's last week.
    published_on = rate_date: a PMMS date is the day Freddie released that week's survey.
    apr stays null here; see `apor.attach_apor_apr`.
    """
    parts = []
    if history is not None:
        parts.append(
            history.unpivot(
                index="rate_date",
                on=list(PRODUCT_BY_COLUMN),
                variable_name="col",
                value_name="rate",
            ).with_columns(
                product=pl.col("col").replace_strict(PRODUCT_BY_COLUMN), source=pl.lit(0)
            )
        )
    for series in fred:
        unknown = set(series["series_id"]) - set(PRODUCT_BY_FRED_SERIES)
        if unknown:
            raise ValueError(f"no market_rates product for FRED series {sorted(unknown)}")
        parts.append(
            series.with_columns(
                product=pl.col("series_id").replace_strict(PRODUCT_BY_FRED_SERIES), source=pl.lit(1)
            )
        )
    if not parts:
        return pl.DataFrame(schema=MARKET_RATES_SCHEMA)
    return (
        pl.concat([p.select("rate_date", "product", "rate", "source") for p in parts])
        .drop_nulls("rate")
        .sort("rate_date", "product", "source")
        .unique(["rate_date", "product"], keep="first", maintain_order=True)
        .select(
            "rate_date",
            "product",
            "rate",
            apr=pl.lit(None, pl.Float64),
            published_on=pl.col("rate_date"),
        )
    )
