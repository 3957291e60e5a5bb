"""Real-data adapters on tiny hand-written files in each published layout (made-up numbers)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.lib.realdata import (
    RealDataFormatError,
    attach_apor_apr,
    build_landing_zone,
    fannie_loans,
    hpi_published_on,
    landing_hpi,
    pmms_market_rates,
    read_acquisition,
    read_apor_table,
    read_county_cbsa,
    read_fred_series,
    read_hpi_metro,
    read_hpi_po_state,
    read_hpi_state,
    read_hpi_us_and_census,
    read_hpi_zip3_quarterly,
    read_performance,
    read_pmms_history,
    read_zip_county,
    read_zip_timezones,
    synthetic_borrowers,
    zip_geography,
)


def write(
    folder: Path, name: str, lines: list[str], eol: str = "\n", final_eol: bool = True
) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((eol.join(lines) + (eol if final_eol else "")).encode())
    return path


@contextmanager
def refused(path: Path, line: int, *words: str):
    """The parser must refuse the file, naming the file, the line and what is wrong."""
    with pytest.raises(RealDataFormatError) as info:
        yield
    msg = str(info.value)
    assert msg.startswith(f"{path}, line {line}: ") and info.value.line == line, msg
    for w in words:
        assert w in msg, msg


def test_empty_and_non_utf8_files_are_refused(tmp_path):
    empty = write(tmp_path, "hpi_at_state.csv", [], final_eol=False)
    with pytest.raises(RealDataFormatError, match="no data rows"):
        read_hpi_state(empty)
    latin1 = tmp_path / "hpi_at_metro.csv"
    latin1.write_bytes(
        '"Abilene, TX",10180,1986,2,105.5,( 6.25)\n"Bayam\xf3n, PR",41980,1986,2,99,( 1)\n'.encode(
            "latin-1"
        )
    )
    with refused(latin1, 2, "not UTF-8"):
        read_hpi_metro(latin1)


def test_bad_month_is_refused_with_the_published_format(tmp_path):
    lines = [ACQ_LINES[0].replace("|12/1999|", "|13/1999|")]
    path = write(tmp_path, "Acquisition_2000Q1.txt", lines)
    with refused(path, 1, "orig_date", "'13/1999'", "%m/%Y"):
        read_acquisition(path)


# --- Freddie Mac PMMS and FRED -----------------------------------------------------------

PMMS_HEADER = "date,pmms30,pmms30p,pmms15,pmms15p,pmms51,pmms51p,pmms51m,pmms51spread"
PMMS_LINES = [
    PMMS_HEADER,
    "4/2/1971,7.5, ,,,,,,",
    "1/7/2016,4.25,0.6,3.5,0.5,3.125,0.4,2.75,0.55",
    "11/10/2022,7.1,0.9,6.4,1,6.05,0.2,2.75,1",
    '"11/17/2022","6.625","","5.875"',
    '"11/23/2022","6.5","","5.75"',
]


def test_pmms_history_reads_both_layouts(tmp_path):
    path = write(tmp_path, "PMMS_history.csv", PMMS_LINES, eol="\r\n")
    df = read_pmms_history(path)
    assert df.schema["rate_date"] == pl.Date and df.schema["pmms30"] == pl.Float64
    assert df["rate_date"].to_list() == [
        date(1971, 4, 2),
        date(2016, 1, 7),
        date(2022, 11, 10),
        date(2022, 11, 17),
        date(2022, 11, 23),
    ]
    assert df.row(0) == (date(1971, 4, 2), 7.5, None, None, None, None, None, None, None)
    assert df.row(1) == (date(2016, 1, 7), 4.25, 0.6, 3.5, 0.5, 3.125, 0.4, 2.75, 0.55)
    # After the Nov-2022 change: 4 quoted fields, no points, no ARM.
    assert df.row(3) == (date(2022, 11, 17), 6.625, None, 5.875, None, None, None, None, None)


def test_pmms_short_row_before_layout_change_is_refused(tmp_path):
    lines = PMMS_LINES[:2] + ["1/14/2016,4.25,0.6,3.5"] + PMMS_LINES[2:]
    path = write(tmp_path, "PMMS_history.csv", lines, eol="\r\n")
    with refused(path, 3, "4 fields before 2022-11-17"):
        read_pmms_history(path)


def test_pmms_wrong_field_count_is_refused(tmp_path):
    lines = PMMS_LINES[:3] + ["1/14/2016,4.25,0.6,3.5,0.5,3.125,0.4"] + PMMS_LINES[3:]
    path = write(tmp_path, "PMMS_history.csv", lines, eol="\r\n")
    with refused(path, 4, "expected 4 or 9 fields, found 7"):
        read_pmms_history(path)


def test_pmms_non_numeric_rate_is_refused(tmp_path):
    lines = PMMS_LINES[:4] + ['"11/17/2022","6.6x","","5.875"']
    path = write(tmp_path, "PMMS_history.csv", lines)
    with refused(path, 5, "pmms30", "'6.6x'", "not a number"):
        read_pmms_history(path)


def test_pmms_unterminated_quote_is_a_truncated_line(tmp_path):
    path = write(tmp_path, "PMMS_history.csv", PMMS_LINES + ['"11/30/2022","6.4'], final_eol=False)
    with refused(path, 7, "truncated line"):
        read_pmms_history(path)


def test_fred_series_both_headers_and_dot_for_missing(tmp_path):
    new = write(tmp_path, "MORTGAGE30US.csv", ["observation_date,MORTGAGE30US", "2026-05-14,6.25"])
    old = write(
        tmp_path, "MORTGAGE15US.csv", ["DATE,MORTGAGE15US", "2024-09-05,5.5", "2024-09-12,."]
    )
    assert read_fred_series(new).rows() == [(date(2026, 5, 14), "MORTGAGE30US", 6.25)]
    assert read_fred_series(old).rows() == [
        (date(2024, 9, 5), "MORTGAGE15US", 5.5),
        (date(2024, 9, 12), "MORTGAGE15US", None),
    ]
    bad = write(tmp_path, "X.csv", ["when,MORTGAGE30US", "2026-05-14,6.25"])
    with refused(bad, 1, "unexpected header"):
        read_fred_series(bad)


def test_market_rates_prefer_freddie_and_extend_with_fred(tmp_path):
    history = read_pmms_history(write(tmp_path, "PMMS_history.csv", PMMS_LINES))
    fred = read_fred_series(
        write(
            tmp_path,
            "F.csv",
            ["observation_date,MORTGAGE30US", "2022-11-23,9.99", "2022-12-01,6.375"],
        )
    )
    rates = pmms_market_rates(history, [fred])
    fixed30 = rates.filter(pl.col("product") == "fixed_30").select("rate_date", "rate")
    assert fixed30.rows()[-2:] == [(date(2022, 11, 23), 6.5), (date(2022, 12, 1), 6.375)]
    assert rates.filter(pl.col("product") == "arm_5_1")["rate"].to_list() == [3.125, 6.05]
    assert rates.filter(pl.col("product") == "fixed_15").height == 4
    assert (rates["published_on"] == rates["rate_date"]).all()
    assert rates["apr"].null_count() == rates.height


# --- FFIEC APOR -----------------------------------------------------------------------------


def apor_lines(first: str, dates: list[str]) -> list[str]:
    # term t gets 4 + t/100, so the 30-year column is 4.30 and the 15-year 4.15
    values = ",".join(f"{4 + t / 100:.2f}" for t in range(1, 51))
    return [first + "," + ",".join(str(t) for t in range(1, 51))] + [f"{d},{values}" for d in dates]


def test_apor_table_long_form(tmp_path):
    path = write(
        tmp_path,
        "YieldTableFixed.csv",
        apor_lines("Term of Loan in Years", ["01/03/2000"]),
        eol="\r\n",
        final_eol=False,
    )
    df = read_apor_table(path)
    assert df.height == 50
    assert df.filter(pl.col("term_years") == 30).row(0) == (date(2000, 1, 3), "fixed", 30, 4.30)
    arm = write(
        tmp_path,
        "YieldTableAdjustable.csv",
        apor_lines("Years to First Adjustment", ["12/04/2017"]),
    )
    assert read_apor_table(arm).filter(pl.col("term_years") == 5).row(0) == (
        date(2017, 12, 4),
        "arm",
        5,
        4.05,
    )


def test_apor_refuses_a_non_monday(tmp_path):
    path = write(
        tmp_path,
        "YieldTableFixed.csv",
        apor_lines("Term of Loan in Years", ["01/03/2000", "01/11/2000"]),
    )
    with refused(path, 3, "not a Monday"):
        read_apor_table(path)


def test_apor_becomes_the_apr_from_the_next_monday(tmp_path):
    fixed = read_apor_table(
        write(tmp_path, "F.csv", apor_lines("Term of Loan in Years", ["01/03/2000", "12/04/2017"]))
    )
    arm = read_apor_table(
        write(tmp_path, "A.csv", apor_lines("Years to First Adjustment", ["12/04/2017"]))
    )
    rates = pl.DataFrame(
        {
            "rate_date": [
                date(1999, 12, 31),
                date(2017, 11, 30),
                date(2017, 11, 30),
                date(2017, 11, 30),
                date(2017, 11, 23),
            ],
            "product": ["fixed_30", "fixed_15", "arm_5_1", "jumbo", "fixed_30"],
            "rate": [4.2, 4.1, 4.0, 4.5, 4.25],
            "apr": [None, None, None, None, None],
        },
        schema_overrides={"apr": pl.Float64},
    ).with_columns(published_on=pl.col("rate_date"))
    out = attach_apor_apr(rates, pl.concat([fixed, arm]))
    assert out.rows() == [
        (date(1999, 12, 31), "fixed_30", 4.2, 4.30, date(2000, 1, 3)),  # Friday survey
        (date(2017, 11, 30), "fixed_15", 4.1, 4.15, date(2017, 12, 4)),  # Thursday survey
        (date(2017, 11, 30), "arm_5_1", 4.0, 4.05, date(2017, 12, 4)),
        (date(2017, 11, 30), "jumbo", 4.5, None, date(2017, 11, 30)),  # no APOR product
        (date(2017, 11, 23), "fixed_30", 4.25, None, date(2017, 11, 23)),  # no table that week
    ]


# --- FHFA HPI ---------------------------------------------------------------------------------


def test_published_on_is_month_end_two_months_after_the_quarter():
    starts = pl.Series(
        [date(2024, 1, 1), date(2024, 4, 1), date(2024, 7, 1), date(2023, 10, 1), date(2022, 10, 1)]
    )
    assert pl.select(hpi_published_on(pl.lit(starts))).to_series().to_list() == [
        date(2024, 5, 31),
        date(2024, 8, 31),
        date(2024, 11, 30),
        date(2024, 2, 29),
        date(2023, 2, 28),
    ]


def test_hpi_state_file(tmp_path):
    path = write(
        tmp_path,
        "hpi_at_state.csv",
        ["AK,1975,1,61.5", "AK,1975,2,63.25", "WY,2024,3,480.00"],
        eol="\r\n",
    )
    df = read_hpi_state(path)
    assert df.rows() == [
        ("AK", date(1975, 1, 1), 61.5),
        ("AK", date(1975, 4, 1), 63.25),
        ("WY", date(2024, 7, 1), 480.0),
    ]


def test_hpi_truncated_line_is_refused(tmp_path):
    path = write(
        tmp_path, "hpi_at_state.csv", ["AK,1975,1,61.5", "AK,1975,2"], eol="\r\n", final_eol=False
    )
    with refused(path, 2, "expected 4 fields, found 3", "truncated line"):
        read_hpi_state(path)


def test_hpi_wrong_field_count_is_refused(tmp_path):
    path = write(
        tmp_path, "hpi_at_state.csv", ["AK,1975,1,61.5", "AK,1975,2,63.25,9", "AL,1975,1,70"]
    )
    with refused(path, 2, "expected 4 fields, found 5"):
        read_hpi_state(path)


def test_hpi_non_numeric_index_is_refused(tmp_path):
    path = write(tmp_path, "hpi_at_state.csv", ["AK,1975,1,61.5", "AK,1975,2,6l.25"])
    with refused(path, 2, "index_nsa", "'6l.25'", "not a number"):
        read_hpi_state(path)


def test_hpi_bad_quarter_and_duplicate_quarter_are_refused(tmp_path):
    bad_q = write(tmp_path, "a.csv", ["AK,1975,1,61.5", "AK,1975,5,62"])
    with refused(bad_q, 2, "quarter 1-4"):
        read_hpi_state(bad_q)
    dup = write(tmp_path, "b.csv", ["AK,1975,1,61.5", "AK,1975,2,62", "AK,1975,1,61.5"])
    with refused(dup, 3, "duplicate", "first on line 1"):
        read_hpi_state(dup)


METRO_LINES = [
    '"Abilene, TX",10180,1975,1,-,-',
    '"Abilene, TX",10180,1986,2,105.5,( 6.25)',
    '"Anaheim-Santa Ana-Irvine, CA  (MSAD)",11244,2024,3,300.75,( 10.50)',
]


def test_hpi_metro_dash_is_null_and_se_is_parsed(tmp_path):
    df = read_hpi_metro(write(tmp_path, "hpi_at_metro.csv", METRO_LINES, eol="\r\n"))
    assert df.rows() == [
        ("Abilene, TX", "10180", date(1975, 1, 1), None, None),
        ("Abilene, TX", "10180", date(1986, 4, 1), 105.5, 6.25),
        ("Anaheim-Santa Ana-Irvine, CA  (MSAD)", "11244", date(2024, 7, 1), 300.75, 10.5),
    ]


def test_hpi_metro_unclosed_quote_is_refused(tmp_path):
    path = write(tmp_path, "hpi_at_metro.csv", METRO_LINES[:2] + ['"Abilene, TX,10180,1986,3'])
    with refused(path, 3, "truncated line"):
        read_hpi_metro(path)


def test_hpi_us_zip3_and_purchase_only(tmp_path):
    us = read_hpi_us_and_census(
        write(tmp_path, "us.csv", ["DV_ENC,1975,1,63.5", "USA,2024,3,690.25"])
    )
    assert us.rows() == [("DV_ENC", date(1975, 1, 1), 63.5), ("USA", date(2024, 7, 1), 690.25)]
    zip3 = read_hpi_zip3_quarterly(
        write(
            tmp_path,
            "z.csv",
            [
                "zip3,year,quarter,index_nsa,index_type",
                "010,1995,1,100,Native 3-Digit ZIP index",
                "011,2022,4,,Balance of State",
            ],
        )
    )
    assert zip3.rows() == [
        ("010", date(1995, 1, 1), 100.0, "Native 3-Digit ZIP index"),
        ("011", date(2022, 10, 1), None, "Balance of State"),
    ]
    po_lines = [
        "state\tyr\tqtr\tindex_nsa\tindex_sa\tWarning",
        'AK\t1991\t1\t100\t100\t"* Note that this state has fewer than 15,000 transactions"',
        "AL\t2016\t1\t150.5\t149.75\t",
    ]
    po = read_hpi_po_state(
        write(tmp_path, "HPI_PO_state.txt", po_lines, eol="\r\n", final_eol=False)
    )
    assert po.rows() == [
        (
            "AK",
            date(1991, 1, 1),
            100.0,
            100.0,
            "* Note that this state has fewer than 15,000 transactions",
        ),
        ("AL", date(2016, 1, 1), 150.5, 149.75, None),
    ]


def test_landing_hpi_shapes_and_drops_missing_values(tmp_path):
    hpi = landing_hpi(
        state=read_hpi_state(write(tmp_path, "s.csv", ["AK,2024,3,480.5"])),
        metro=read_hpi_metro(write(tmp_path, "m.csv", METRO_LINES)),
        us_and_census=read_hpi_us_and_census(
            write(tmp_path, "u.csv", ["DV_ENC,2024,3,63.5", "USA,2024,3,690.25"])
        ),
        zip3=read_hpi_zip3_quarterly(
            write(
                tmp_path,
                "z.csv",
                ["zip3,year,quarter,index_nsa,index_type", "010,2023,4,250,x", "011,2022,4,,y"],
            )
        ),
    )
    assert hpi.columns == ["geo_level", "geo_code", "period_start", "index_value", "published_on"]
    assert hpi.rows() == [
        ("cbsa", "10180", date(1986, 4, 1), 105.5, date(1986, 8, 31)),
        ("cbsa", "11244", date(2024, 7, 1), 300.75, date(2024, 11, 30)),
        ("national", "US", date(2024, 7, 1), 690.25, date(2024, 11, 30)),
        ("state", "AK", date(2024, 7, 1), 480.5, date(2024, 11, 30)),
        ("zip3", "010", date(2023, 10, 1), 250.0, date(2024, 2, 29)),
    ]


# --- Crosswalks ------------------------------------------------------------------------------

HUD_LINES = [
    "ZIP,COUNTY,RES_RATIO,BUS_RATIO,OTH_RATIO,TOT_RATIO",
    "00501,36103,0,1,0,1",
    "10001,36061,0.75,0.5,0.5,0.6",
    "10001,36047,0.25,0.5,0.5,0.4",
    "06103,09003,1,1,1,1",
    "20001,11001,8.0626e-05,0,0,5e-05",
    "20001,24031,8.0626e-05,0,0,7e-05",
]
CBSA_HEADER = (
    "cbsacode,metropolitandivisioncode,csacode,cbsatitle,metropolitanmicropolitanstatis,"
    "metropolitandivisiontitle,csatitle,countycountyequivalent,statename,fipsstatecode,"
    "fipscountycode,centraloutlyingcounty"
)
NY = '"New York-Newark-Jersey City, NY-NJ",Metropolitan Statistical Area'
CBSA_LINES = [
    CBSA_HEADER,
    f'35620,35004,408,{NY},"Nassau County-Suffolk County, NY",,Suffolk County,New York,'
    "36,103,Central",
    f'35620,35614,408,{NY},"New York, NY",,New York County,New York,36,061,Central',
    '47900,47894,548,"Washington, DC-VA-MD",Metropolitan Statistical Area,"Washington, DC",,'
    "Montgomery County,Maryland,24,031,Central",
    '10100,,,"Aberdeen, SD",Micropolitan Statistical Area,,,Brown County,South Dakota,'
    "46,013,Central",
]
TZ_LINES = [
    "zip_code,zip_code_type,active,city,state,county,timezone,lat,long,area_codes,acceptable_cities",
    "00501,UNIQUE,True,Holtsville,NY,Suffolk County,America/New_York,40.8154,-73.0451,631,",
    "09001,MILITARY,True,APO,AE,,,0,0,,",
    "10001,STANDARD,True,New York,NY,New York County,America/New_York,40.75,-73.99,212;646,",
    "99634,PO BOX,True,Napakiak,AK,Bethel Census Area,Napakiak,60.69,-161.75,907,",
]


def test_crosswalk_files(tmp_path):
    hud = read_zip_county(write(tmp_path, "hud.csv", HUD_LINES))
    assert hud.row(4) == ("20001", "11001", 8.0626e-05, 0.0, 0.0, 5e-05)
    cbsa = read_county_cbsa(write(tmp_path, "cbsa.csv", CBSA_LINES, eol="\r\n", final_eol=False))
    assert cbsa.row(0) == (
        "36103",
        "35620",
        "New York-Newark-Jersey City, NY-NJ",
        "metropolitan",
        "35004",
        "408",
        "Suffolk County",
        "New York",
    )
    assert cbsa.row(3)[3:6] == ("micropolitan", None, None)
    tz = read_zip_timezones(write(tmp_path, "tz.csv", TZ_LINES))
    assert tz["timezone"].to_list() == ["America/New_York", None, "America/New_York", None]
    assert tz.row(0)[:3] == ("00501", "UNIQUE", True)


def test_zip_geography_joins_and_leaves_misses_null(tmp_path):
    geo = zip_geography(
        read_zip_county(write(tmp_path, "hud.csv", HUD_LINES)),
        read_county_cbsa(write(tmp_path, "cbsa.csv", CBSA_LINES)),
        read_zip_timezones(write(tmp_path, "tz.csv", TZ_LINES)),
    )
    assert geo.columns == ["zip", "county_fips", "cbsa_code", "metro_division_code", "timezone"]
    assert geo.rows() == [
        ("00501", "36103", "35620", "35004", "America/New_York"),
        ("06103", "09003", None, None, None),  # old CT county: no 2023 CBSA, no tz row
        ("09001", None, None, None, None),  # military ZIP
        ("10001", "36061", "35620", "35614", "America/New_York"),  # larger residential share
        ("20001", "24031", "47900", "47894", None),  # equal RES_RATIO: larger TOT_RATIO wins
        ("99634", None, None, None, None),  # a town name is not a time zone
    ]


def test_crosswalk_bad_zip_is_refused(tmp_path):
    path = write(tmp_path, "hud.csv", HUD_LINES[:2] + ["501,36103,0,1,0,1"])
    with refused(path, 3, "ZIP", "'501'"):
        read_zip_county(path)


# --- Fannie Mae ------------------------------------------------------------------------------

ACQ_LINES = [
    "111111111111|R|TEST BANK, NA|7.5|100000|360|12/1999|02/2000|80||1|30|700|N|P|SF|1|P|TX|770|"
    "|FRM|||N|200001",
    "222222222222|B|OTHER|8.25|150000|180|01/2000|03/2000|75||2|41|650|Y|C|PU|2|I|CA|945|25|FRM|710|1|N|200001",
    "333333333333|C|OTHER|8|50000|240|02/2000|04/2000|50||1||||R|MH|1|S|PR|006||FRM|||N|200001",
]
PERF = "|N|{zb}|{zbd}|||||||||||||||{flag}||NULL"
PERF_LINES = [
    # text-sorted like the published file: 01/2001 comes before 02/2000
    "111111111111|01/01/2000|NULL|7.5||0.0|360.0|359.0|12/2029|0.0|0"
    + PERF.format(zb="NULL", zbd="", flag="NULL"),
    "111111111111|01/01/2001|BANK|7.5|99000.5|12.0|348.0|347.0|12/2029|26420.0|1"
    + PERF.format(zb="NULL", zbd="", flag="NULL"),
    "111111111111|02/01/2000|NULL|7.5||1.0|359.0|358.0|12/2029|0.0|0"
    + PERF.format(zb="NULL", zbd="", flag="NULL"),
    "111111111111|03/01/2001|NULL|7.5|98000.0|14.0|346.0|0.0|12/2029|26420.0|-2"
    + PERF.format(zb="01", zbd="03/2001", flag="N"),
    "222222222222|06/01/2000|NULL|8.25|149000.0|3.0|177.0|176.0|01/2015|41860.0|3"
    + PERF.format(zb="NULL", zbd="", flag="NULL"),
    "222222222222|07/01/2000|NULL|8.25|149000.0|4.0|176.0|0.0|01/2015|41860.0|-2"
    + PERF.format(zb="09", zbd="07/2000", flag="N"),
]


def test_acquisition_file(tmp_path):
    df = read_acquisition(write(tmp_path, "Acquisition_2000Q1.txt", ACQ_LINES))
    assert df.height == 3 and "acquisition_period" not in df.columns
    first = df.row(0, named=True)
    assert first["seller_name"] == "TEST BANK, NA" and first["orig_interest_rate"] == 7.5
    assert first["orig_date"] == date(1999, 12, 1) and first["first_pay_date"] == date(2000, 2, 1)
    assert first["orig_cltv"] is None and first["borrower_credit_score"] == 700
    assert df.row(2, named=True)["dti"] is None and df["zip3"].to_list() == ["770", "945", "006"]
    # Fannie's own 25-field layout is read the same way.
    legacy = write(tmp_path, "a25.txt", [line.rsplit("|", 1)[0] for line in ACQ_LINES])
    assert read_acquisition(legacy).equals(df)


def test_acquisition_short_row_and_bad_code_are_refused(tmp_path):
    mixed = write(tmp_path, "a.txt", ACQ_LINES[:2] + [ACQ_LINES[2].rsplit("|", 1)[0]])
    with refused(mixed, 3, "25 fields, line 1 has 26"):
        read_acquisition(mixed)
    bad = write(tmp_path, "b.txt", ACQ_LINES[:1] + [ACQ_LINES[1].replace("|C|PU|", "|X|PU|")])
    with refused(bad, 2, "loan_purpose", "'X'"):
        read_acquisition(bad)


def test_performance_file_sorted_by_month_with_nulls(tmp_path):
    df = read_performance(write(tmp_path, "Performance_2000Q1.txt", PERF_LINES))
    assert df.filter(pl.col("loan_id") == "111111111111")["reporting_month"].to_list() == [
        date(2000, 1, 1),
        date(2000, 2, 1),
        date(2001, 1, 1),
        date(2001, 3, 1),
    ]
    assert df.row(0) == ("111111111111", date(2000, 1, 1), None, 7.5, None, 0, None, 0, None, None)
    assert df.row(2) == (
        "111111111111",
        date(2001, 1, 1),
        "BANK",
        7.5,
        99000.5,
        12,
        "26420",
        1,
        None,
        None,
    )
    assert df.row(3)[7:] == (None, "01", date(2001, 3, 1))  # -2 on the termination row -> null


def test_performance_wrong_field_count_is_refused(tmp_path):
    path = write(tmp_path, "p.txt", PERF_LINES[:2] + [PERF_LINES[2] + "|extra"])
    with refused(path, 3, "expected 31 fields, found 32"):
        read_performance(path)


def test_fannie_loans_as_of(tmp_path):
    acq = read_acquisition(write(tmp_path, "a.txt", ACQ_LINES))
    perf = read_performance(write(tmp_path, "p.txt", PERF_LINES))

    early = fannie_loans(acq, perf, date(2000, 3, 31)).rows_by_key(
        "loan_id", named=True, unique=True
    )
    a, b, c = early["111111111111"], early["222222222222"], early["333333333333"]
    # Known on 2000-03-31: the Jan and Feb 2000 rows (a month is known once it has ended).
    assert (a["status"], a["status_date"], a["servicing_status"], a["current_upb"]) == (
        "funded",
        date(1999, 12, 1),
        "current",
        None,  # Fannie masks early balances
    )
    assert (a["loan_purpose"], a["occupancy"], a["property_type"], a["rate_type"]) == (
        "purchase",
        "primary",
        "sfr",
        "fixed",
    )
    assert a["original_value"] == 125000.0 and a["has_pmi"] is False
    assert a["property_cbsa"] == "26420"  # location is static: taken from any month
    assert (b["loan_purpose"], b["occupancy"], b["property_type"], b["has_pmi"]) == (
        "cash_out_refi",
        "investment",
        "multi_2_4",
        True,
    )
    assert b["original_value"] == 200000.0 and b["servicing_status"] is None  # no row known yet
    assert (c["property_type"], c["occupancy"], c["servicing_status"], c["credit_score"]) == (
        "manufactured",
        "second_home",
        None,
        None,
    )

    mid = fannie_loans(acq, perf, date(2000, 6, 30)).rows_by_key("loan_id", named=True, unique=True)
    assert (mid["222222222222"]["servicing_status"], mid["222222222222"]["current_upb"]) == (
        "delinquent_60_plus",
        149000.0,
    )
    # Loan 1's latest known row is February's: too old to tell anything about June.
    assert mid["111111111111"]["servicing_status"] is None

    later = fannie_loans(acq, perf, date(2001, 3, 31)).rows_by_key(
        "loan_id", named=True, unique=True
    )
    one, two = later["111111111111"], later["222222222222"]
    assert (one["status"], one["status_date"], one["current_upb"]) == (
        "paid_off",
        date(2001, 3, 1),
        0.0,
    )
    assert (two["status"], two["servicing_status"]) == ("paid_off", "foreclosure")

    assert fannie_loans(acq, perf, date(1999, 12, 31))["loan_id"].to_list() == ["111111111111"]


def test_synthetic_borrowers_are_visibly_fake(tmp_path):
    acq = read_acquisition(write(tmp_path, "a.txt", ACQ_LINES))
    loans = fannie_loans(
        acq, read_performance(write(tmp_path, "p.txt", PERF_LINES)), date(2000, 6, 30)
    )
    people = synthetic_borrowers(loans, acq)
    assert people.row(1, named=True) == {
        "borrower_id": "B222222222222",
        "first_name": "Test",
        "last_name": "Borrower",
        "email": "test.borrower.222222222222@example.invalid",
        "phone": "+15552222222",
        "mailing_address": None,
        "mailing_city": None,
        "mailing_state": None,
        "mailing_zip": None,
        "timezone": None,
        "is_investor": True,
        "annual_income": None,
    }
    assert set(people["borrower_id"]) == set(loans["borrower_id"])


# --- Landing zone ----------------------------------------------------------------------------


def test_build_landing_zone_from_tiny_real_layouts(tmp_path):
    real = tmp_path / "realdata"
    write(real / "pmms_freddiemac", "PMMS_history.csv", PMMS_LINES, eol="\r\n")
    write(
        real / "pmms_freddiemac",
        "MORTGAGE30US.csv",
        ["observation_date,MORTGAGE30US", "2022-12-01,6.375"],
    )
    write(
        real / "ffiec_apor",
        "YieldTableFixed.csv",
        apor_lines("Term of Loan in Years", ["01/11/2016"]),
    )
    write(
        real / "ffiec_apor",
        "YieldTableAdjustable.csv",
        apor_lines("Years to First Adjustment", ["01/11/2016"]),
    )
    write(real / "fhfa_hpi", "hpi_at_state.csv", ["TX,2022,2,300", "TX,2022,3,310"])
    write(real / "fhfa_hpi", "hpi_at_metro.csv", METRO_LINES)
    write(real / "fhfa_hpi", "hpi_at_us_and_census.csv", ["USA,2022,3,400"])
    write(
        real / "fhfa_hpi",
        "hpi_at_3zip_quarterly.csv",
        ["zip3,year,quarter,index_nsa,index_type", "770,2022,3,200,x"],
    )
    write(real / "fannie_mae_sflp_2000Q1_subset", "Acquisition_2000Q1.txt", ACQ_LINES)
    write(real / "fannie_mae_sflp_2000Q1_subset", "Performance_2000Q1-P_first.txt", PERF_LINES)
    write(real / "crosswalks", "hud_zip_county_122020.csv", HUD_LINES)
    write(real / "crosswalks", "cbsa2fipsxw.csv", CBSA_LINES)
    out = tmp_path / "landing"

    counts = build_landing_zone(real, out, date(2022, 11, 29))

    # Rates to 11-23 (FRED's December week not yet), TX Q2 and the 1986 metro quarter
    # (Q3 2022 is published 2022-11-30), all three loans, the six servicing months.
    assert counts == {
        "market_rates": 11,
        "hpi": 2,
        "loans": 3,
        "borrowers": 3,
        "servicing_history": 6,
    }
    assert (out / "_as_of").read_text() == "2022-11-29\n"
    rates = pl.read_csv(out / "market_rates.csv", infer_schema=False)
    assert rates.columns == ["rate_date", "product", "rate", "apr", "published_on"]
    assert rates.filter(pl.col("rate_date") == "2016-01-07", pl.col("product") == "fixed_30").row(
        0
    ) == ("2016-01-07", "fixed_30", "4.25", "4.3", "2016-01-11")
    hpi = pl.read_csv(out / "hpi.csv", infer_schema=False)
    assert hpi.rows() == [
        ("cbsa", "10180", "1986-04-01", "105.5", "1986-08-31"),
        ("state", "TX", "2022-04-01", "300.0", "2022-08-31"),
    ]
    loans = pl.read_csv(out / "loans.csv", infer_schema=False)
    assert loans["loan_id"].to_list() == ["111111111111", "222222222222", "333333333333"]
    assert loans.filter(pl.col("loan_id") == "111111111111")["status"].item() == "paid_off"
    # Geography: Fannie's MSA where it gave one; no crosswalk ZIP starts 006, so PR stays null.
    assert loans.select("property_zip3", "property_cbsa", "property_cbsa_source").rows() == [
        ("770", "26420", "file"), ("945", "41860", "file"), ("006", None, None)]
    # Only the primary-residence borrower lives at the property: every 770xx ZIP is Central.
    people = pl.read_csv(out / "borrowers.csv", infer_schema=False)
    assert people.select("timezone", "timezone_source").rows() == [
        ("America/Chicago", "zip3"), (None, None), (None, None)]
    assert pl.read_parquet(out / "servicing_history.parquet").schema["reporting_month"] == pl.Date
    assert not list(out.glob("*.tmp"))
