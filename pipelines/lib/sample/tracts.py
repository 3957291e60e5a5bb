"""Census tracts of each market (11-digit FIPS) with minority share and income level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .geography import MARKETS, STATES
from .schema import conform

INCOME_LEVELS = ("low", "moderate", "middle", "upper")

# Each market's county as the 2020 Census counted it: the share of residents who are not
# non-Hispanic white, rounded. Real mixes, so that majority-minority tracts sit where they do
# in life (Miami, El Paso, Los Angeles, Houston, Baltimore) and are rare in Vermont or Spokane.
COUNTY_MINORITY_SHARE: dict[str, float] = {
    "los_angeles": 0.74, "san_francisco": 0.62, "san_diego": 0.56, "sacramento": 0.57,
    "siskiyou": 0.27, "dallas": 0.72, "houston": 0.72, "austin": 0.52, "el_paso": 0.88,
    "presidio": 0.85, "miami": 0.87, "tampa": 0.50, "orlando": 0.62, "pensacola": 0.38,
    "new_york": 0.54, "buffalo": 0.30, "hamilton_ny": 0.06, "phoenix": 0.46, "tucson": 0.49,
    "seattle": 0.43, "spokane": 0.18, "providence": 0.40, "burlington": 0.14, "orleans_vt": 0.06,
    "boston": 0.55, "denver": 0.46, "atlanta": 0.62, "chicago": 0.58, "philadelphia": 0.67,
    "pittsburgh": 0.24, "baltimore": 0.73, "charlotte": 0.55,
}
# How unevenly a county's residents spread over its tracts: a low Beta concentration puts
# most tracts well above or below the county's share, as residential segregation does.
TRACT_CONCENTRATION = 2.5
# Loans land in tracts in proportion to homes owned and applications approved, so a tract's
# share of its market's loans falls as its minority share rises: home ownership is about 74 %
# among white households and 47 % among Black and Hispanic ones (Census housing survey), and
# HMDA denial rates are about 8 % and 18 %. Per household: 0.74 × 0.92 against 0.47 × 0.82.
LENDING_ALL_WHITE, LENDING_ALL_MINORITY = 0.68, 0.385


@dataclass(frozen=True)
class TractPool:
    """All tracts, grouped by market: market m owns codes[first[m] : first[m] + size]."""

    codes: pl.Series
    first: np.ndarray
    size: int
    minority_pct: np.ndarray
    income_level: pl.Series

    def draw(self, rng: np.random.Generator, market: np.ndarray) -> np.ndarray:
        """A tract of its market for each loan, as positions in the pool, weighted by lending
        per household."""
        share = self.minority_pct / 100
        lent = LENDING_ALL_WHITE + (LENDING_ALL_MINORITY - LENDING_ALL_WHITE) * share
        by_market = lent.reshape(-1, self.size).cumsum(axis=1)
        # Market m's tracts cover (m, m + 1] of one axis, each as wide as its weight.
        edges = (np.arange(len(by_market))[:, None] + by_market / by_market[:, -1:]).ravel()
        tract = np.searchsorted(edges, market + rng.random(len(market)), side="right")
        return np.minimum(tract, self.first[market] + self.size - 1)  # m + u rounded to m + 1

    def code(self, tract: np.ndarray) -> pl.Series:
        return self.codes.gather(pl.Series(tract))

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
        share = COUNTY_MINORITY_SHARE[market.key]
        minority.append(
            100 * rng.beta(share * TRACT_CONCENTRATION, (1 - share) * TRACT_CONCENTRATION, size)
        )
    minority_pct = np.concatenate(minority)
    # Tract income tends to fall as minority share rises; the noise keeps every mix present.
    latent = -(minority_pct - minority_pct.mean()) / 30 + rng.normal(0, 1, len(minority_pct))
    cut = np.quantile(latent, [0.15, 0.40, 0.75])
    income = pl.Series(INCOME_LEVELS).gather(pl.Series(np.searchsorted(cut, latent)))
    first = np.arange(len(MARKETS)) * size
    return TractPool(pl.concat(codes), first, size, minority_pct, income)
