"""The lender's footprint: states, metro markets, ZIP prefixes, counties and house-price levels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class State:
    fips: str
    time_zone: str  # the zone most of the state keeps; borrowers who set one get this


STATES: dict[str, State] = {
    "CA": State("06", "America/Los_Angeles"),
    "TX": State("48", "America/Chicago"),
    "FL": State("12", "America/New_York"),
    "NY": State("36", "America/New_York"),
    "AZ": State("04", "America/Phoenix"),
    "WA": State("53", "America/Los_Angeles"),
    "RI": State("44", "America/New_York"),
    "VT": State("50", "America/New_York"),
    "MA": State("25", "America/New_York"),
    "CO": State("08", "America/Denver"),
    "GA": State("13", "America/New_York"),
    "IL": State("17", "America/Chicago"),
    "PA": State("42", "America/New_York"),
    "MD": State("24", "America/New_York"),
    "NC": State("37", "America/New_York"),
}


@dataclass(frozen=True)
class Market:
    """A place where the lender writes loans: one county, so that ZIP, CBSA and tract agree."""

    key: str
    state: str
    cbsa: str | None  # None: outside any metro area, so HPI must fall back to the state
    county: str  # 3-digit county FIPS within the state
    zip3: str
    city: str
    median_price: int  # typical home value at the as_of date
    weight: float  # share of the book
    cbsa_hpi: bool  # False: no CBSA index published, so value_method falls back to the state
    zone: str | None = None  # where the city keeps another zone than most of its state

    @property
    def time_zone(self) -> str:
        return self.zone or STATES[self.state].time_zone


# fmt: off
MARKETS: tuple[Market, ...] = (
    Market("los_angeles", "CA", "31080", "037", "900", "Los Angeles", 880_000, 8, True),
    Market("san_francisco", "CA", "41860", "075", "941", "San Francisco", 1_250_000, 3, True),
    Market("san_diego", "CA", "41740", "073", "921", "San Diego", 830_000, 4, True),
    Market("sacramento", "CA", "40900", "067", "958", "Sacramento", 540_000, 3, False),
    Market("siskiyou", "CA", None, "093", "960", "Yreka", 330_000, 1, False),
    Market("dallas", "TX", "19100", "113", "752", "Dallas", 390_000, 6, True),
    Market("houston", "TX", "26420", "201", "770", "Houston", 330_000, 6, True),
    Market("austin", "TX", "12420", "453", "787", "Austin", 480_000, 3, True),
    Market("el_paso", "TX", "21340", "141", "799", "El Paso", 250_000, 1, False, "America/Denver"),
    Market("presidio", "TX", None, "377", "798", "Marfa", 230_000, 0.5, False),
    Market("miami", "FL", "33100", "086", "331", "Miami", 540_000, 5, True),
    Market("tampa", "FL", "45300", "057", "336", "Tampa", 400_000, 4, True),
    Market("orlando", "FL", "36740", "095", "328", "Orlando", 390_000, 3, False),
    Market("pensacola", "FL", "37860", "033", "325", "Pensacola", 300_000, 1, False,
           "America/Chicago"),
    Market("new_york", "NY", "35620", "061", "100", "New York", 790_000, 6, True),
    Market("buffalo", "NY", "15380", "029", "142", "Buffalo", 240_000, 2, False),
    Market("hamilton_ny", "NY", None, "041", "128", "Long Lake", 220_000, 0.5, False),
    Market("phoenix", "AZ", "38060", "013", "850", "Phoenix", 440_000, 5, True),
    Market("tucson", "AZ", "46060", "019", "857", "Tucson", 340_000, 2, False),
    Market("seattle", "WA", "42660", "033", "981", "Seattle", 830_000, 4, True),
    Market("spokane", "WA", "44060", "063", "992", "Spokane", 390_000, 1.5, False),
    Market("providence", "RI", "39300", "007", "029", "Providence", 430_000, 2, True),
    Market("burlington", "VT", "15540", "007", "054", "Burlington", 440_000, 1, False),
    Market("orleans_vt", "VT", None, "019", "058", "Newport", 270_000, 0.5, False),
    Market("boston", "MA", "14460", "025", "021", "Boston", 760_000, 3, True),
    Market("denver", "CO", "19740", "031", "802", "Denver", 600_000, 3, True),
    Market("atlanta", "GA", "12060", "121", "303", "Atlanta", 410_000, 4, True),
    Market("chicago", "IL", "16980", "031", "606", "Chicago", 350_000, 5, True),
    Market("philadelphia", "PA", "37980", "101", "191", "Philadelphia", 310_000, 3, True),
    Market("pittsburgh", "PA", "38300", "003", "152", "Pittsburgh", 240_000, 2, False),
    Market("baltimore", "MD", "12580", "510", "212", "Baltimore", 340_000, 2, True),
    Market("charlotte", "NC", "16740", "119", "282", "Charlotte", 400_000, 3, True),
)
# fmt: on

MARKET_INDEX: dict[str, int] = {m.key: i for i, m in enumerate(MARKETS)}


def market_weights() -> np.ndarray:
    weights = np.array([m.weight for m in MARKETS], dtype=float)
    return weights / weights.sum()


def market_column(attribute: str) -> np.ndarray:
    """One attribute of every market as an array indexable by market number."""
    return np.array([getattr(m, attribute) for m in MARKETS], dtype=object)


def market_series(attribute: str, market: np.ndarray) -> pl.Series:
    """An attribute per row, for rows given as market numbers (None becomes null)."""
    return pl.Series(market_column(attribute).tolist(), dtype=pl.String).gather(pl.Series(market))


# fmt: off
STREETS = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset",
    "Ridge", "Highland", "Walnut", "Church", "Mill", "River", "Spring", "Willow", "Jefferson",
    "Lincoln", "Franklin", "Madison", "Chestnut", "Birch", "Meadow", "Forest",
)
# fmt: on
STREET_SUFFIXES: tuple[str, ...] = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl")
