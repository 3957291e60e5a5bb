"""Census tracts of each market (11-digit FIPS) with minority share and income level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .geography import MARKETS, STATES
from .schema import conform

INCOME_LEVELS = ("low", "moderate", "middle", "upper")


@dataclass(frozen=True)
class TractPool:
    """All tracts, grouped by market: market m owns codes[first[m] : first[m] + size]."""

    codes: pl.Series
    first: np.ndarray
    size: int
    minority_pct: np.ndarray
    income_level: pl.Series

    def draw(self, rng: np.random.Generator, market: np.ndarray) -> pl.Series:
        return self.codes.gather(
            pl.Series(self.first[market] + rng.integers(0, self.size, len(market)))
        )

    def first_of(self, market: int) -> str:
        return self.codes[int(self.first[market])]

    def frame(self, referenced: pl.Series) -> pl.DataFrame:
        """The tracts that some loan references, as the census_tracts source."""
        frame = pl.DataFrame(
            {
                "census_tract": self.codes,
                "minority_pct": np.round(self.minority_pct, 1),
                "tract_income_level": self.income_level,
            }
        )
        frame = frame.filter(pl.col("census_tract").is_in(referenced.drop_nulls().implode()))
        return conform("census_tracts", frame)


def build_tracts(rng: np.random.Generator, loans: int) -> TractPool:
    # Enough tracts that a fair-lending review has both sides, few enough to repeat.
    size = int(np.clip(loans // 150, 6, 300))
    codes, minority = [], []
    for market in MARKETS:  # a few dozen markets, not per loan
        tract_numbers = np.sort(rng.choice(9_800, size, replace=False)) + 100
        prefix = STATES[market.state].fips + market.county
        codes.append(prefix + pl.Series(tract_numbers).cast(pl.String).str.zfill(4) + "00")
        # Each metro has its own mix, so some tracts are majority-minority and some not.
        mean = rng.uniform(0.15, 0.6)
        minority.append(100 * rng.beta(2 * mean / (1 - mean) + 0.1, 2.0, size))
    minority_pct = np.concatenate(minority)
    # Tract income tends to fall as minority share rises; the noise keeps every mix present.
    latent = -(minority_pct - minority_pct.mean()) / 30 + rng.normal(0, 1, len(minority_pct))
    cut = np.quantile(latent, [0.15, 0.40, 0.75])
    income = pl.Series(INCOME_LEVELS).gather(pl.Series(np.searchsorted(cut, latent)))
    first = np.arange(len(MARKETS)) * size
    return TractPool(pl.concat(codes), first, size, minority_pct, income)
