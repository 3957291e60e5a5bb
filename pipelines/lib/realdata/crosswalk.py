"""Map a 5-digit ZIP to its county, CBSA and IANA time zone from the published crosswalk files.

ZIP -> county is HUD-USPS (Q4 2020), county -> CBSA is OMB's 2023 delineation (NBER
layout), ZIP -> time zone is the `zipcodes` package export. HUD has no direct ZIP -> CBSA
file, so the CBSA is reached through the ZIP's main county. Whatever does not join
stays null: non-metro counties, Connecticut (HUD still uses the old counties, OMB 2023
the planning regions), military ZIPs without a time zone.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import available_timezones

import polars as pl

from ._reader import check_header, code, num, read_rows, refuse_duplicates, text

HUD_ZIP_COUNTY_HEADER = ("ZIP", "COUNTY", "RES_RATIO", "BUS_RATIO", "OTH_RATIO", "TOT_RATIO")
CBSA_COUNTY_HEADER = (
    "cbsacode", "metropolitandivisioncode", "csacode", "cbsatitle",
    "metropolitanmicropolitanstatis", "metropolitandivisiontitle", "csatitle",
    "countycountyequivalent", "statename", "fipsstatecode", "fipscountycode",
    "centraloutlyingcounty",
)  # fmt: skip
ZIP_TZ_HEADER = (
    "zip_code", "zip_code_type", "active", "city", "state", "county", "timezone",
    "lat", "long", "area_codes", "acceptable_cities",
)  # fmt: skip


# One export row names a town, not a zone (99634 `Napakiak`): a name the IANA database
# does not know is a miss, so it becomes null like the military ZIPs' empty cells.
KNOWN_ZONES = {z: z for z in available_timezones()}


def read_zip_county(path: Path) -> pl.DataFrame:
    """HUD `ZIP_COUNTY` crosswalk -> zip, county_fips (5 digits), res/bus/oth/tot_ratio."""
    path = Path(path)
    head, raw = read_rows(path, HUD_ZIP_COUNTY_HEADER, header=True)
    check_header(path, head, HUD_ZIP_COUNTY_HEADER)
    frame = pl.DataFrame(
        [
            raw["line"],
            code(raw, "ZIP", path, r"\d{5}").alias("zip"),
            code(raw, "COUNTY", path, r"\d{5}").alias("county_fips"),
        ]
        + [num(raw, c, path).alias(c.lower()) for c in HUD_ZIP_COUNTY_HEADER[2:]]
    )
    refuse_duplicates(frame, path, ["zip", "county_fips"])
    return frame.drop("line")


def read_county_cbsa(path: Path) -> pl.DataFrame:
    """OMB/NBER `cbsa2fipsxw.csv` -> county_fips, cbsa_code, cbsa_title, metro_micro
    (`metropolitan`/`micropolitan`), metro_division_code, csa_code, county_name, state_name."""
    path = Path(path)
    head, raw = read_rows(path, CBSA_COUNTY_HEADER, header=True)
    check_header(path, head, CBSA_COUNTY_HEADER)
    state = code(raw, "fipsstatecode", path, r"\d{2}")
    county = code(raw, "fipscountycode", path, r"\d{3}")
    kind = code(
        raw, "metropolitanmicropolitanstatis", path, "(Metro|Micro)politan Statistical Area"
    )
    frame = pl.DataFrame(
        [
            raw["line"],
            (state + county).alias("county_fips"),
            code(raw, "cbsacode", path, r"\d{5}").alias("cbsa_code"),
            text(raw, "cbsatitle").alias("cbsa_title"),
            kind.str.extract("^(\\w+)").str.to_lowercase().alias("metro_micro"),
            code(raw, "metropolitandivisioncode", path, r"\d{5}", required=False).alias(
                "metro_division_code"
            ),
            code(raw, "csacode", path, r"\d{3}", required=False).alias("csa_code"),
            text(raw, "countycountyequivalent").alias("county_name"),
            text(raw, "statename").alias("state_name"),
        ]
    )
    refuse_duplicates(frame, path, ["county_fips"])
    return frame.drop("line")


def read_zip_timezones(path: Path) -> pl.DataFrame:
    """`zipcodes` package export -> zip, zip_type, active (Boolean), city, state, county_name,
    timezone (IANA; null where the package has none, e.g. military ZIPs, or names a zone the
    IANA database does not know), lat, long."""
    path = Path(path)
    head, raw = read_rows(path, ZIP_TZ_HEADER, header=True)
    check_header(path, head, ZIP_TZ_HEADER)
    frame = pl.DataFrame(
        [
            raw["line"],
            code(raw, "zip_code", path, r"\d{5}").alias("zip"),
            text(raw, "zip_code_type").alias("zip_type"),
            code(raw, "active", path, "True|False").eq("True").alias("active"),
            text(raw, "city"),
            code(raw, "state", path, "[A-Z]{2}"),
            text(raw, "county").alias("county_name"),
            text(raw, "timezone").replace_strict(KNOWN_ZONES, default=None),
            num(raw, "lat", path, required=False),
            num(raw, "long", path, required=False),
        ]
    )
    refuse_duplicates(frame, path, ["zip"])
    return frame.drop("line")


def zip_main_county(zip_county: pl.DataFrame) -> pl.DataFrame:
    """One county per ZIP: the largest share of residential addresses, then of all addresses,
    then the lowest county code (so ties resolve the same way every night)."""
    return (
        zip_county.sort(
            ["zip", "res_ratio", "tot_ratio", "county_fips"], descending=[False, True, True, False]
        )
        .unique("zip", keep="first", maintain_order=True)
        .select("zip", "county_fips")
    )


def zip_geography(
    zip_county: pl.DataFrame, county_cbsa: pl.DataFrame, zip_timezones: pl.DataFrame
) -> pl.DataFrame:
    """ZIP -> county_fips, cbsa_code, metro_division_code, timezone over every ZIP either
    file knows; a miss in any step is null, never guessed.

    FHFA publishes a divided CBSA's index only per division (Chicago 16984, not 16980),
    so the division code, where there is one, is the code to look the HPI up by.
    """
    counties = zip_main_county(zip_county).join(
        county_cbsa.select("county_fips", "cbsa_code", "metro_division_code"),
        on="county_fips",
        how="left",
    )
    return counties.join(
        zip_timezones.select("zip", "timezone"), on="zip", how="full", coalesce=True
    ).sort("zip")


def load_zip_geography(crosswalk_dir: Path) -> pl.DataFrame:
    """`zip_geography` from the three files as laid out in shared/realdata/crosswalks/."""
    d = Path(crosswalk_dir)
    return zip_geography(
        read_zip_county(d / "hud_zip_county_122020.csv"),
        read_county_cbsa(d / "cbsa2fipsxw.csv"),
        read_zip_timezones(d / "zipcodes_pkg_zip_city_county_tz.csv"),
    )
