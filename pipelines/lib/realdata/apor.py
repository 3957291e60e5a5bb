"""Read FFIEC Average Prime Offer Rate (APOR) weekly tables and use them as market_rates APRs.

APOR is, by Regulation C/Z's definition, an APR derived from the PMMS survey's average
rates and points. Each Monday's table comes from the PMMS survey released the
Thursday (or holiday Wednesday/Friday) before: the 30-year APOR effective 2000-01-03
(8.17) is PMMS 1999-12-31 (8.06 + 1 point). So a PMMS week's APR is the APOR of the
first Monday after its rate_date, for the same product and term.

It is a market-average APR, not an APR a lender has quoted: whether a message may show
it is a compliance decision, not this adapter's.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ._reader import RealDataFormatError, date, num, read_rows, refuse_duplicates

TERMS = [str(t) for t in range(1, 51)]
RATE_TYPE_BY_FIRST_HEADER = {"term of loan in years": "fixed", "years to first adjustment": "arm"}
# market_rates product -> APOR table and column (loan term, or years to first adjustment)
APOR_FOR_PRODUCT = {"fixed_30": ("fixed", 30), "fixed_15": ("fixed", 15), "arm_5_1": ("arm", 5)}


def read_apor_table(path: Path) -> pl.DataFrame:
    """`YieldTableFixed.csv` / `YieldTableAdjustable.csv` -> effective_date (a Monday),
    rate_type (`fixed`/`arm`), term_years (1-50), apor (percent, Float64)."""
    path = Path(path)
    head, raw = read_rows(path, ("date", *TERMS), header=True)
    first = (head or [""])[0].strip().lower()
    if first not in RATE_TYPE_BY_FIRST_HEADER or [h.strip() for h in head[1:]] != TERMS:
        raise RealDataFormatError(
            path, 1, f"unexpected header {head[:3]}..., expected an APOR table"
        )
    wide = pl.DataFrame(
        [raw["line"], date(raw, "date", path, "%m/%d/%Y").alias("effective_date")]
        + [num(raw, t, path) for t in TERMS]
    )
    not_monday = wide.filter(pl.col("effective_date").dt.weekday() != 1)
    if not_monday.height:
        raise RealDataFormatError(
            path, not_monday["line"][0], "APOR effective date is not a Monday"
        )
    refuse_duplicates(wide, path, ["effective_date"])
    return (
        wide.drop("line")
        .unpivot(index="effective_date", variable_name="term_years", value_name="apor")
        .select(
            "effective_date",
            rate_type=pl.lit(RATE_TYPE_BY_FIRST_HEADER[first]),
            term_years=pl.col("term_years").cast(pl.Int32),
            apor=pl.col("apor"),
        )
        .sort("effective_date", "term_years")
    )


def attach_apor_apr(market_rates: pl.DataFrame, apor: pl.DataFrame) -> pl.DataFrame:
    """Fill market_rates.apr from the APOR of the first Monday after rate_date.

    A row that gains an APR becomes known only when that APOR takes effect, so its
    published_on moves to the Monday (a 2-5 day delay) rather than leak a future value.
    Products without an APOR counterpart, and weeks outside the tables, keep apr null.
    """
    key = pl.DataFrame(
        {
            "product": list(APOR_FOR_PRODUCT),
            "rate_type": [t for t, _ in APOR_FOR_PRODUCT.values()],
            "term_years": pl.Series([y for _, y in APOR_FOR_PRODUCT.values()], dtype=pl.Int32),
        }
    )
    monday_after = pl.col("rate_date") + pl.duration(days=8 - pl.col("rate_date").dt.weekday())
    matched = (
        market_rates.with_row_index("_row")
        .with_columns(effective_date=monday_after)
        .join(key, on="product", how="left")
        .join(apor, on=["effective_date", "rate_type", "term_years"], how="left")
        .sort("_row")
    )
    use = pl.col("apr").is_null() & pl.col("apor").is_not_null()
    return matched.select(
        "rate_date",
        "product",
        "rate",
        apr=pl.when(use).then("apor").otherwise("apr"),
        published_on=pl.when(use)
        .then(pl.max_horizontal("published_on", "effective_date"))
        .otherwise("published_on"),
    )
