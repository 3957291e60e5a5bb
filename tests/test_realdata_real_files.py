"""Real-data adapters on the real published files in ../shared/realdata (facts checked by hand)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.lib import realdata as rd

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"


def real(*parts: str) -> Path:
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"../shared/realdata not present: {path} is missing (tests read it, never copy it)"
        )
    return path


@pytest.fixture(scope="module")
def pmms() -> pl.DataFrame:
    return rd.read_pmms_history(real("pmms_freddiemac", "PMMS_history.csv"))


@pytest.fixture(scope="module")
def fred30() -> pl.DataFrame:
    return rd.read_fred_series(real("pmms_freddiemac", "MORTGAGE30US.csv"))


@pytest.fixture(scope="module")
def apor() -> pl.DataFrame:
    return pl.concat(
        [
            rd.read_apor_table(real("ffiec_apor", "YieldTableFixed.csv")),
            rd.read_apor_table(real("ffiec_apor", "YieldTableAdjustable.csv")),
        ]
    )


@pytest.fixture(scope="module")
def hpi() -> dict[str, pl.DataFrame]:
    d = ("fhfa_hpi",)
    return {
        "state": rd.read_hpi_state(real(*d, "hpi_at_state.csv")),
        "metro": rd.read_hpi_metro(real(*d, "hpi_at_metro.csv")),
        "us_and_census": rd.read_hpi_us_and_census(real(*d, "hpi_at_us_and_census.csv")),
        "zip3": rd.read_hpi_zip3_quarterly(real(*d, "hpi_at_3zip_quarterly.csv")),
    }


@pytest.fixture(scope="module")
def acquisition() -> pl.DataFrame:
    return rd.read_acquisition(real("fannie_mae_sflp_2000Q1_subset", "Acquisition_2000Q1.txt"))


@pytest.fixture(scope="module")
def performance() -> pl.DataFrame:
    path = real("fannie_mae_sflp_2000Q1_subset", "Performance_2000Q1-P_first138.txt")
    return rd.read_performance(path)


def value(frame: pl.DataFrame, column: str, **where) -> object:
    return frame.filter(**where)[column].item()


def test_pmms_history(pmms):
    assert pmms.height == 2801
    assert pmms.row(0)[:2] == (date(1971, 4, 2), 7.33)
    assert pmms.row(-1)[:4] == (date(2024, 11, 27), 6.81, None, 6.1)
    assert pmms.filter(rate_date=date(2016, 1, 7)).row(0) == (
        date(2016, 1, 7),
        3.97,
        0.6,
        3.26,
        0.5,
        3.09,
        0.5,
        2.75,
        0.88,
    )
    # The 107 quoted 4-field weeks from 2022-11-17 carry no points and no ARM.
    short = pmms.filter(pl.col("rate_date") >= date(2022, 11, 17))
    assert short.height == 107
    assert (
        short.select(pl.exclude("rate_date", "pmms30", "pmms15").is_null().all()).row(0)
        == (True,) * 6
    )
    assert pmms["pmms15"].count() == 1736
    assert pmms.filter(pl.col("pmms15").is_not_null())["rate_date"].min() == date(1991, 8, 30)
    assert pmms["pmms30"].is_between(2.65, 18.63).all()


def test_fred_30_year_matches_freddie_and_runs_later(pmms, fred30):
    assert fred30.height == 2877 and fred30["series_id"].unique().to_list() == ["MORTGAGE30US"]
    assert fred30.row(-1) == (date(2026, 5, 14), "MORTGAGE30US", 6.36)
    shared = pmms.join(fred30, on="rate_date")
    assert shared.height == 2801 and (shared["pmms30"] == shared["rate"]).all()


def test_apor_tables(apor):
    fixed = apor.filter(rate_type="fixed")
    assert fixed["effective_date"].n_unique() == 936
    assert (fixed["effective_date"].min(), fixed["effective_date"].max()) == (
        date(2000, 1, 3),
        date(2017, 12, 4),
    )
    assert value(fixed, "apor", effective_date=date(2000, 1, 3), term_years=30) == 8.17
    assert value(fixed, "apor", effective_date=date(2000, 1, 3), term_years=15) == 7.83
    assert value(fixed, "apor", effective_date=date(2017, 12, 4), term_years=30) == 3.94
    wide = fixed.pivot(on="term_years", index="effective_date", values="apor")
    assert all((wide[str(t)] == wide["30"]).all() for t in range(31, 51))
    arm = apor.filter(rate_type="arm").pivot(on="term_years", index="effective_date", values="apor")
    assert arm.height == 936 and all((arm[str(t)] == arm["10"]).all() for t in range(11, 51))


def test_market_rates_from_pmms_fred_and_apor(pmms, fred30, apor):
    rates = rd.attach_apor_apr(rd.pmms_market_rates(pmms, [fred30]), apor)
    counts = dict(rates.group_by("product").len().iter_rows())
    assert counts == {"fixed_30": 2877, "fixed_15": 1736, "arm_5_1": 932}
    assert rates.filter(pl.col("apr").is_not_null()).group_by("product").len().sort(
        "product"
    ).rows() == [("arm_5_1", 674), ("fixed_15", 936), ("fixed_30", 936)]
    # PMMS of Friday 1999-12-31 (8.06 + 1 point) is the APOR effective Monday 2000-01-03.
    assert rates.filter(rate_date=date(1999, 12, 31), product="fixed_30").row(0) == (
        date(1999, 12, 31),
        "fixed_30",
        8.06,
        8.17,
        date(2000, 1, 3),
    )
    assert rates["rate"].is_between(0.5, 20, closed="left").all()
    assert (rates["published_on"] >= rates["rate_date"]).all()


def test_hpi_all_transactions_files(hpi):
    state, metro, us, zip3 = hpi["state"], hpi["metro"], hpi["us_and_census"], hpi["zip3"]
    assert state.height == 10149 and state["state"].n_unique() == 51
    assert (state["period_start"].min(), state["period_start"].max()) == (
        date(1975, 1, 1),
        date(2024, 7, 1),
    )
    assert value(state, "index_nsa", state="CA", period_start=date(2006, 10, 1)) == 642.76
    assert value(state, "index_nsa", state="WY", period_start=date(2024, 7, 1)) == 486.76

    assert metro.height == 80396 and metro["cbsa"].n_unique() == 404
    assert metro["index_nsa"].null_count() == 13442 == metro["index_se"].null_count()
    assert metro.filter(pl.col("metro_name").str.ends_with("(MSAD)"))["cbsa"].n_unique() == 31
    houston = metro.filter(cbsa="26420", period_start=date(2003, 1, 1)).row(0)
    assert houston[3:] == (147.41, 0.43)
    assert metro.filter(cbsa="49740", period_start=date(2024, 7, 1)).row(0)[3:] == (340.74, 7.13)
    # Divided CBSAs are published only by division: Chicago 16984, not 16980.
    assert "16984" in set(metro["cbsa"]) and "16980" not in set(metro["cbsa"])

    assert us.height == 1990 and us["region"].n_unique() == 10
    assert value(us, "index_nsa", region="USA", period_start=date(2000, 1, 1)) == 230.17

    assert zip3.height == 98784 and zip3["zip3"].n_unique() == 882
    assert zip3["index_nsa"].null_count() == 19
    assert value(zip3, "index_nsa", zip3="770", period_start=date(2010, 1, 1)) == 209.46
    assert dict(zip3.group_by("index_type").len().iter_rows()) == {
        "Native 3-Digit ZIP index": 71456,
        "MSA/MSAD Index": 8624,
        "Balance of State": 18704,
    }


def test_hpi_purchase_only_state():
    po = rd.read_hpi_po_state(real("fhfa_hpi", "HPI_PO_state.txt"))
    assert po.height == 5151 and po["warning"].count() == 1111
    assert po.filter(state="CA", period_start=date(2008, 1, 1)).row(0)[2:4] == (212.83, 214.21)
    assert po.row(-1)[:4] == ("WY", date(2016, 1, 1), 325.71, 324.74)  # the unterminated last line


def test_landing_hpi_levels_and_published_on(hpi):
    rows = rd.landing_hpi(**hpi)
    assert dict(rows.group_by("geo_level").len().iter_rows()) == {
        "state": 10149,
        "cbsa": 80396 - 13442,
        "national": 199,
        "zip3": 98784 - 19,
    }
    latest = rows.filter(geo_level="national", period_start=date(2024, 7, 1)).row(0)
    assert latest == ("national", "US", date(2024, 7, 1), 688.42, date(2024, 11, 30))
    assert (rows["index_value"] > 0).all()


def test_crosswalks_zip_to_county_cbsa_and_time_zone():
    d = ("crosswalks",)
    zip_county = rd.read_zip_county(real(*d, "hud_zip_county_122020.csv"))
    county_cbsa = rd.read_county_cbsa(real(*d, "cbsa2fipsxw.csv"))
    zones = rd.read_zip_timezones(real(*d, "zipcodes_pkg_zip_city_county_tz.csv"))
    assert zip_county.height == 54194 and zip_county["zip"].n_unique() == 39455
    assert zip_county["county_fips"].n_unique() == 3227
    assert county_cbsa.height == 1915 and county_cbsa["cbsa_code"].n_unique() == 935
    assert dict(county_cbsa.group_by("metro_micro").len().iter_rows()) == {
        "metropolitan": 1252,
        "micropolitan": 663,
    }
    assert zones.height == 42789
    assert zones["timezone"].null_count() == 823 + 1  # military ZIPs, and 99634 `Napakiak`

    geo = rd.zip_geography(zip_county, county_cbsa, zones).rows_by_key("zip", unique=True)
    assert geo["77002"] == ("48201", "26420", None, "America/Chicago")  # Houston, Harris County
    assert geo["10001"] == ("36061", "35620", "35614", "America/New_York")
    assert geo["06103"][:3] == ("09003", None, None)  # old CT county, 2023 planning regions


def test_zipcodes_package_is_the_time_zone_source_the_export_was_made_from():
    exported = rd.read_zip_timezones(
        real("crosswalks", "zipcodes_pkg_zip_city_county_tz.csv")
    ).select("zip", "timezone")
    assert rd.package_zip_timezones().sort("zip").equals(exported.sort("zip"))


def test_fannie_acquisition(acquisition):
    a = acquisition
    assert a.height == 5000 and a["loan_id"].n_unique() == 5000
    first = a.row(0, named=True)
    assert (
        first["loan_id"],
        first["orig_interest_rate"],
        first["orig_upb"],
        first["orig_loan_term"],
    ) == ("100007365142", 8.0, 75000.0, 360)
    assert (first["orig_date"], first["first_pay_date"], first["orig_ltv"]) == (
        date(1999, 12, 1),
        date(2000, 2, 1),
        79.0,
    )
    assert (first["borrower_credit_score"], first["property_state"], first["zip3"]) == (
        763,
        "PA",
        "173",
    )
    assert dict(a.group_by("loan_purpose").len().iter_rows()) == {"P": 3322, "R": 847, "C": 831}
    assert dict(a.group_by("property_type").len().iter_rows()) == {
        "SF": 4295,
        "PU": 355,
        "CO": 292,
        "MH": 35,
        "CP": 23,
    }
    assert dict(a.group_by("occupancy_status").len().iter_rows()) == {"P": 4582, "I": 235, "S": 183}
    assert a["property_state"].n_unique() == 53 and a["orig_cltv"].null_count() == 4981
    assert (a["orig_interest_rate"].min(), a["orig_interest_rate"].max()) == (5.99, 10.0)
    assert a["mortgage_insurance_percent"].null_count() == 3367


def test_fannie_performance(performance):
    p = performance
    assert p.height == 5361 and p["loan_id"].n_unique() == 138
    assert (p["reporting_month"].min(), p["reporting_month"].max()) == (
        date(2000, 1, 1),
        date(2017, 12, 1),
    )
    assert dict(
        p.drop_nulls("zero_balance_code").group_by("zero_balance_code").len().iter_rows()
    ) == {"01": 135, "06": 2}
    assert p["current_upb"].null_count() == 823
    # Published sorted by date text; parsed and sorted by month here.
    first_loan = p.filter(loan_id="100007365142")
    assert first_loan["reporting_month"].is_sorted()
    assert first_loan.row(-1)[-2:] == ("01", date(2003, 4, 1))
    assert p.filter(loan_id="100393376629").row(-1)[1:5] == (
        date(2017, 12, 1),
        None,
        7.625,
        32339.22,
    )


def test_build_landing_zone_from_real_files(tmp_path):
    for folder in ("pmms_freddiemac", "ffiec_apor", "fhfa_hpi", "fannie_mae_sflp_2000Q1_subset",
                   "crosswalks"):
        real(folder)
    out = tmp_path / "landing"
    counts = rd.build_landing_zone(REALDATA, out, date(2003, 6, 30))
    assert (out / "_as_of").read_text() == "2003-06-30\n"
    assert counts["loans"] == counts["borrowers"] == 5000
    loans = pl.read_csv(out / "loans.csv", infer_schema=False)
    # 101 of the 138 loans with servicing history paid off (code 01) by June 2003.
    assert dict(loans.group_by("status").len().iter_rows()) == {"funded": 4899, "paid_off": 101}
    rates = pl.read_csv(out / "market_rates.csv", try_parse_dates=True, infer_schema_length=None)
    assert rates.height == counts["market_rates"]
    assert rates["published_on"].max() <= date(2003, 6, 30)
    assert rates.filter(product="fixed_30").row(-1) == (
        date(2003, 6, 27),
        "fixed_30",
        5.24,
        5.29,
        date(2003, 6, 30),
    )
    hpi = pl.read_csv(
        out / "hpi.csv", try_parse_dates=True, schema_overrides={"geo_code": pl.String}
    )
    assert hpi.filter(geo_level="national")["period_start"].max() == date(2003, 1, 1)
    history = pl.read_parquet(out / "servicing_history.parquet")
    assert history.height == counts["servicing_history"]
    assert history["reporting_month"].max() == date(2003, 6, 1)
    # Geography: Fannie's MSA for 123 loans (the others have no performance rows or an
    # MSA of 0); the 3-digit ZIP where all its ZIPs lie in one CBSA (606 Chicago, 770
    # Houston); otherwise null. Time zones only for borrowers living at the property.
    assert dict(loans.group_by("property_cbsa_source").len().iter_rows()) == {
        "file": 123, "zip3": 1923, None: 2954}
    by_zip3 = loans.filter(property_cbsa_source="zip3").group_by("property_zip3").agg(
        pl.col("property_cbsa").unique())
    assert by_zip3.filter(property_zip3="606")["property_cbsa"].item().to_list() == ["16980"]
    assert by_zip3.filter(property_zip3="770")["property_cbsa"].item().to_list() == ["26420"]
    borrowers = pl.read_csv(out / "borrowers.csv", infer_schema=False)
    assert dict(borrowers.group_by("timezone_source").len().iter_rows()) == {
        "zip3": 4476, None: 524}
    lived = loans.join(borrowers, on="borrower_id").filter(pl.col("timezone").is_not_null())
    assert (lived["occupancy"] == "primary").all()
    assert set(lived.filter(property_state="AZ")["timezone"]) == {"America/Phoenix"}
    assert borrowers["email"].str.ends_with("@example.invalid").all()
    assert borrowers["phone"].str.contains(r"^\+1555\d{7}$").all()
