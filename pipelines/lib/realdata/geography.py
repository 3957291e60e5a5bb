"""Fill a loan's CBSA and a borrower's time zone from a ZIP or county where the files leave
them empty; whatever cannot be known stays null, with where each value came from.

Sources: ZIP -> county is HUD-USPS, county -> CBSA OMB 2023 (crosswalk.py); ZIP -> IANA
time zone is the maintained `zipcodes` package (its data, not a copy of it). Order:
- property_cbsa: the file's own; else from `property_county_fips` (an extra loans column,
  when a lender sends it); else from property_zip through its main county; else from the
  3-digit ZIP (`property_zip3`, all Fannie Mae gives) when every ZIP of that prefix maps
  to one and the same CBSA. Otherwise null: non-metro, a Connecticut county (HUD 2020 vs
  OMB 2023), a prefix that spans several areas.
- borrowers.timezone: the file's own; else from mailing_zip; else, for a borrower whose
  loan is a primary residence (they live there), from property_zip, then from the
  3-digit ZIP when all its ZIPs share one zone. Otherwise null, and the pipeline falls
  back to the state as INPUTS.md says.
`property_cbsa_source` and `timezone_source` (extra columns, ignored downstream) say which
rule gave the value: file, county, zip, zip3 (mailing_zip for the borrower's own address).
"""

from __future__ import annotations

from functools import cache

import polars as pl
import zipcodes

from .crosswalk import KNOWN_ZONES, zip_main_county


@cache
def package_zip_timezones() -> pl.DataFrame:
    """zip, timezone for every ZIP the `zipcodes` package knows; null where it has none
    (military ZIPs) or names something the IANA database does not know."""
    rows = zipcodes.list_all()
    return pl.DataFrame(
        {"zip": [r["zip_code"] for r in rows], "timezone": [r["timezone"] for r in rows]},
        schema={"zip": pl.String, "timezone": pl.String},
    ).with_columns(pl.col("timezone").replace_strict(KNOWN_ZONES, default=None))


def zip_cbsa(zip_county: pl.DataFrame, county_cbsa: pl.DataFrame) -> pl.DataFrame:
    """zip, cbsa_code (null where the ZIP's main county is in no CBSA)."""
    return zip_main_county(zip_county).join(
        county_cbsa.select("county_fips", "cbsa_code"), on="county_fips", how="left"
    ).select("zip", "cbsa_code")


def by_zip3(by_zip: pl.DataFrame, column: str) -> pl.DataFrame:
    """zip3, column: the value every ZIP with that prefix shares; a prefix whose ZIPs
    disagree, or where any has none, is left out (it would be a guess)."""
    return (
        by_zip.group_by(zip3=pl.col("zip").str.slice(0, 3))
        .agg(pl.col(column).drop_nulls().unique(), missing=pl.col(column).null_count())
        .filter((pl.col(column).list.len() == 1) & (pl.col("missing") == 0))
        .select("zip3", pl.col(column).list.first())
    )


def _fill(frame: pl.DataFrame, target: str, source: str,
          steps: list[tuple[str, str, pl.DataFrame]]) -> pl.DataFrame:
    """Fill `target` from each (label, key column, lookup) in turn, only where still null;
    a lookup is two columns, key then value. `source` records the label that filled it."""
    out = frame.with_columns(pl.when(pl.col(target).is_not_null()).then(pl.lit("file"))
                             .otherwise(None).alias(source))
    for label, key, lookup in steps:
        if key not in out.columns:
            continue
        keyed = lookup.rename(dict(zip(lookup.columns, [key, "_found"])))
        out = out.join(keyed, on=key, how="left", coalesce=True).with_columns(
            pl.when(pl.col(target).is_null() & pl.col("_found").is_not_null())
            .then(pl.lit(label)).otherwise(source).alias(source),
            pl.coalesce(target, "_found").alias(target),
        ).drop("_found")
    return out


def enrich_loans(loans: pl.DataFrame, zip_county: pl.DataFrame, county_cbsa: pl.DataFrame
                 ) -> pl.DataFrame:
    """loans with property_cbsa filled where the rules allow, and property_cbsa_source."""
    by_zip = zip_cbsa(zip_county, county_cbsa)
    counties = county_cbsa.select("county_fips", "cbsa_code")
    return _fill(loans, "property_cbsa", "property_cbsa_source", [
        ("county", "property_county_fips", counties),
        ("zip", "property_zip", by_zip),
        ("zip3", "property_zip3", by_zip3(by_zip, "cbsa_code")),
    ]).select(*loans.columns, "property_cbsa_source")


def enrich_borrowers(borrowers: pl.DataFrame, loans: pl.DataFrame,
                     zip_timezones: pl.DataFrame) -> pl.DataFrame:
    """borrowers with timezone filled where the rules allow, and timezone_source."""
    where = [c for c in ("property_zip", "property_zip3") if c in loans.columns]
    lived_in = (
        loans.filter(pl.col("occupancy") == "primary")
        .sort("borrower_id", "loan_id")
        .unique("borrower_id", keep="first", maintain_order=True)  # one home per borrower
        .select("borrower_id", *where)
    )
    zones = zip_timezones.select("zip", "timezone")
    return _fill(borrowers.join(lived_in, on="borrower_id", how="left"), "timezone",
                 "timezone_source", [
                     ("mailing_zip", "mailing_zip", zones),
                     ("zip", "property_zip", zones),
                     ("zip3", "property_zip3", by_zip3(zones, "timezone")),
                 ]).select(*borrowers.columns, "timezone_source")
