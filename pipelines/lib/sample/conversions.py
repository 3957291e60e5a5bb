"""Products borrowers took up over the last three years, with the revenue they brought."""

from __future__ import annotations

import numpy as np
import polars as pl

from .dates import DAY
from .people import BorrowerBook
from .schema import conform

PRODUCT_SHARE = {
    "insurance": 0.35,
    "refinance": 0.25,
    "heloc": 0.15,
    "financial_planning": 0.15,
    "investment_property": 0.10,
}
# Ancillary revenue per product, US dollars: referral fees, origination revenue, commission.
REVENUE_RANGE = {
    "insurance": (150, 600),
    "refinance": (2_000, 8_000),
    "heloc": (500, 2_500),
    "financial_planning": (200, 1_500),
    "investment_property": (3_000, 9_000),
}


def random_conversions(
    rng: np.random.Generator, as_of: np.datetime64, borrowers: BorrowerBook
) -> pl.DataFrame:
    n = len(borrowers.home_market)
    who = np.flatnonzero(rng.random(n) < 0.04)
    product = rng.choice(len(PRODUCT_SHARE), size=len(who), p=list(PRODUCT_SHARE.values()))
    low = np.array([REVENUE_RANGE[p][0] for p in PRODUCT_SHARE])[product]
    high = np.array([REVENUE_RANGE[p][1] for p in PRODUCT_SHARE])[product]
    revenue = np.where(rng.random(len(who)) < 0.9, np.round(rng.uniform(low, high), 2), np.nan)
    products = pl.Series(list(PRODUCT_SHARE)).gather(pl.Series(product))
    frame = pl.DataFrame(
        {
            "borrower_id": borrowers.frame["borrower_id"].gather(pl.Series(who)),
            "product": products,
            "converted_at": pl.Series(
                "converted_at", as_of - rng.integers(0, 3 * 365, len(who)) * DAY
            ),
            "credited": rng.random(len(who)) < 0.55,
            "revenue": pl.Series(revenue, nan_to_null=True),
        }
    ).with_columns(
        # Campaign ids are named after their product; about half the time the credit is unknown.
        campaign_id=pl.when("credited").then(pl.col("product"))
    )
    return conform("conversions", frame.sort("converted_at", "borrower_id"))
