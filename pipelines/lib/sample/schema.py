"""Physical types of the landing-zone columns; which columns exist comes from `sources.py`."""

from __future__ import annotations

import polars as pl

from ..sources import PRODUCTS, STATUSES, Column
from ..sources import SOURCES as CONTRACT

TIMESTAMP = pl.Datetime("us", "UTC")
# Rates are percent to three places (6.875); minority share to one; everything else is cents.
DECIMAL_SCALE = {"note_rate": 3, "rate": 3, "apr": 3, "minority_pct": 1}
KIND_TYPES: dict[str, pl.DataType] = {
    "text": pl.String,
    "date": pl.Date,
    "timestamp": TIMESTAMP,
    "integer": pl.Int32,
    "boolean": pl.Boolean,
}


def _dtype(column: Column) -> pl.DataType:
    if column.kind == "decimal":
        scale = DECIMAL_SCALE.get(column.name, 2)
        return pl.Decimal(12 + scale, scale)
    return KIND_TYPES[column.kind]


SOURCES: dict[str, dict[str, pl.DataType]] = {
    name: {column.name: _dtype(column) for column in source.columns}
    for name, source in CONTRACT.items()
}
LOAN_STATUSES: tuple[str, ...] = STATUSES
CONVERSION_PRODUCTS: tuple[str, ...] = PRODUCTS
# RULES.md's default campaign pack; engagement and conversions credit these ids.
CAMPAIGNS = (
    "insurance",
    "post_close_welcome",
    "heloc",
    "refinance",
    "financial_planning",
    "investment_property",
)


def empty(source: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SOURCES[source])


def conform(source: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame in contract column order and types; a column the frame lacks is all null."""
    if frame.width == 0:  # a literal would otherwise broadcast to one row
        return empty(source)
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in SOURCES[source].items()
        ]
    )
