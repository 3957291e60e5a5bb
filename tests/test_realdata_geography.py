"""Geography enrichment: a loan's CBSA and a borrower's time zone from ZIP or county, made-up
crosswalk rows in the published layouts; misses stay null."""

from __future__ import annotations

import polars as pl

from pipelines.lib.realdata import (
    by_zip3,
    enrich_borrowers,
    enrich_loans,
    package_zip_timezones,
)

ZIP_COUNTY = pl.DataFrame(
    {
        "zip": ["10001", "10001", "10002", "06103", "57401", "57402", "57403"],
        "county_fips": ["36061", "36047", "36061", "09003", "46013", "46013", "46099"],
        "res_ratio": [0.75, 0.25, 1.0, 1.0, 1.0, 1.0, 1.0],
        "tot_ratio": [0.6, 0.4, 1.0, 1.0, 1.0, 1.0, 1.0],
    }
)
COUNTY_CBSA = pl.DataFrame(
    {
        "county_fips": ["36061", "36047", "46013", "46099"],
        "cbsa_code": ["35620", "35620", "10100", "43620"],
    }
)
LOANS = pl.DataFrame(
    {
        "loan_id": ["L1", "L2", "L3", "L4", "L5", "L6", "L7"],
        "borrower_id": ["B1", "B2", "B3", "B4", "B5", "B6", "B7"],
        "occupancy": ["primary", "primary", "investment", "primary", "primary", "primary",
                      "second_home"],
        "property_zip": [None, "10002", "06103", None, None, None, "10002"],
        "property_zip3": ["100", "100", "061", "100", "574", "999", "100"],
        "property_county_fips": [None, None, None, "46013", None, None, None],
        "property_cbsa": ["99999", None, None, None, None, None, None],
    }
)


def test_loan_cbsa_from_file_then_county_then_zip_then_an_unambiguous_zip3():
    got = enrich_loans(LOANS, ZIP_COUNTY, COUNTY_CBSA)
    assert got.columns == [*LOANS.columns, "property_cbsa_source"]
    assert got.select("loan_id", "property_cbsa", "property_cbsa_source").rows() == [
        ("L1", "99999", "file"),  # the file's own value is never replaced
        ("L2", "35620", "zip"),  # 10002 -> New York County -> New York CBSA
        ("L3", None, None),  # old Connecticut county: not in the 2023 delineation
        ("L4", "10100", "county"),  # a county column, where a lender sends one
        ("L5", None, None),  # 574: 57401/57402 Aberdeen but 57403 Huron: ambiguous
        ("L6", None, None),  # 999: no ZIP with that prefix
        ("L7", "35620", "zip"),
    ]
    # 100: 10001's main county (75 % of homes) and 10002's are both in New York.
    assert by_zip3(pl.DataFrame({"zip": ["10001", "10002"], "cbsa_code": ["35620", "35620"]}),
                   "cbsa_code").rows() == [("100", "35620")]


def test_a_zip3_with_any_unmapped_zip_is_not_unanimous():
    frame = pl.DataFrame({"zip": ["06101", "06103"], "cbsa_code": ["25540", None]})
    assert by_zip3(frame, "cbsa_code").height == 0


def test_borrower_time_zone_from_mailing_zip_then_the_home_they_live_in():
    borrowers = pl.DataFrame(
        {
            "borrower_id": ["B1", "B2", "B3", "B4", "B7", "B9"],
            "mailing_zip": [None, None, None, "96799", None, "09001"],
            "timezone": [None, "America/Denver", None, None, None, None],
        }
    )
    zones = pl.DataFrame(
        {
            "zip": ["10001", "10002", "06103", "96799", "09001"],
            "timezone": ["America/New_York", "America/New_York", "America/New_York",
                         "Pacific/Pago_Pago", None],
        }
    )
    got = enrich_borrowers(borrowers, LOANS, zones)
    assert got.columns == [*borrowers.columns, "timezone_source"]
    assert got.select("borrower_id", "timezone", "timezone_source").rows() == [
        ("B1", "America/New_York", "zip3"),  # primary home in 100xx, all one zone
        ("B2", "America/Denver", "file"),
        ("B3", None, None),  # an investor need not live at the property
        ("B4", "Pacific/Pago_Pago", "mailing_zip"),
        ("B7", None, None),  # a second home is not where they live
        ("B9", None, None),  # military ZIP: the package gives no zone
    ]


def test_time_zones_come_from_the_zipcodes_package():
    zones = dict(package_zip_timezones().iter_rows())
    assert zones["60614"] == "America/Chicago" and zones["96799"] == "Pacific/Pago_Pago"
    assert zones["80202"] == "America/Denver" and zones["85001"] == "America/Phoenix"
    assert zones["09001"] is None  # military (APO AE)
    assert zones["99634"] is None  # the package names a town (Napakiak), not a zone
