"""Build a landing zone (INPUTS.md shapes) from the real public files as it stood on as_of.

Reads shared/realdata as published and writes into out_dir:
- market_rates.csv: PMMS 30y/15y/5-1 ARM weekly (FRED extends the 30y), apr from APOR
  2000-2017 (see apor.py);
- hpi.csv: FHFA all-transactions NSA quarterly, geo_level cbsa (metros and metropolitan
  divisions), state, national (`US`) and zip3, published_on per fhfa_hpi.py;
- loans.csv and borrowers.csv: Fannie Mae 2000Q1 acquisitions with synthetic test
  borrowers (see fannie_mae.py), geography filled from crosswalks/ and the `zipcodes`
  package (see geography.py): property_cbsa where Fannie gives no MSA, borrowers'
  time zones; extra columns property_zip3, property_cbsa_source and timezone_source;
- servicing_history.parquet: an extra source, not in INPUTS.md: the Fannie monthly
  performance rows known at as_of (loan_id, reporting_month, servicer, interest_rate,
  current_upb, loan_age, msa, delinquency_status, zero_balance_code, zero_balance_date),
  for payoff backtests (a payoff is zero_balance_code 01);
- _as_of: the date, ISO, one line.
Rows not yet known at as_of are left out (published_on, close_date or month end after it).
"""

from __future__ import annotations

from datetime import date as Date
from pathlib import Path

import polars as pl

from .apor import attach_apor_apr, read_apor_table
from .crosswalk import read_county_cbsa, read_zip_county
from .fannie_mae import (
    fannie_loans,
    read_acquisition,
    read_servicing_history,
    servicing_known_by,
    synthetic_borrowers,
)
from .fhfa_hpi import (
    landing_hpi,
    read_hpi_metro,
    read_hpi_state,
    read_hpi_us_and_census,
    read_hpi_zip3_quarterly,
)
from .geography import enrich_borrowers, enrich_loans, package_zip_timezones
from .pmms import pmms_market_rates, read_fred_series, read_pmms_history


def _need(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"real data file missing: {path}")
    return path


def _files(folder: Path, pattern: str) -> list[Path]:
    found = sorted(folder.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} in {folder}")
    return found


def real_market_rates(realdata_dir: Path) -> pl.DataFrame:
    """market_rates rows from pmms_freddiemac/ and ffiec_apor/ (every week, not cut at an as_of)."""
    pmms, apor = realdata_dir / "pmms_freddiemac", realdata_dir / "ffiec_apor"
    rates = pmms_market_rates(
        read_pmms_history(_need(pmms / "PMMS_history.csv")),
        [read_fred_series(p) for p in sorted(pmms.glob("MORTGAGE*US.csv"))],
    )
    tables = [read_apor_table(p) for p in _files(apor, "YieldTable*.csv")]
    return attach_apor_apr(rates, pl.concat(tables))


def real_hpi(realdata_dir: Path) -> pl.DataFrame:
    """hpi rows from fhfa_hpi/ (every quarter, not cut at an as_of)."""
    d = realdata_dir / "fhfa_hpi"
    return landing_hpi(
        state=read_hpi_state(_need(d / "hpi_at_state.csv")),
        metro=read_hpi_metro(_need(d / "hpi_at_metro.csv")),
        us_and_census=read_hpi_us_and_census(_need(d / "hpi_at_us_and_census.csv")),
        zip3=read_hpi_zip3_quarterly(_need(d / "hpi_at_3zip_quarterly.csv")),
    )


def _write(frame: pl.DataFrame, path: Path) -> int:
    # Write beside, then rename: a crash never leaves a half file the next run would read.
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".parquet":
        frame.write_parquet(tmp)
    else:
        frame.write_csv(tmp, date_format="%Y-%m-%d")
    tmp.replace(path)
    return frame.height


def build_landing_zone(realdata_dir: Path, out_dir: Path, as_of: Date) -> dict[str, int]:
    """Write the landing zone for as_of from the real files; returns rows written per source."""
    realdata_dir, out_dir = Path(realdata_dir), Path(out_dir)
    fannie = realdata_dir / "fannie_mae_sflp_2000Q1_subset"
    acquisition = pl.concat([read_acquisition(p) for p in _files(fannie, "Acquisition_*.txt")])
    servicing = read_servicing_history(_files(fannie, "Performance_*.txt"))
    crosswalks = realdata_dir / "crosswalks"
    loans = enrich_loans(
        fannie_loans(acquisition, servicing, as_of).join(
            acquisition.select("loan_id", property_zip3="zip3"), on="loan_id", how="left"
        ),
        read_zip_county(_need(crosswalks / "hud_zip_county_122020.csv")),
        read_county_cbsa(_need(crosswalks / "cbsa2fipsxw.csv")),
    )
    borrowers = enrich_borrowers(
        synthetic_borrowers(loans, acquisition), loans, package_zip_timezones()
    )
    sources = {
        "market_rates.csv": real_market_rates(realdata_dir).filter(pl.col("published_on") <= as_of),
        "hpi.csv": real_hpi(realdata_dir).filter(pl.col("published_on") <= as_of),
        "loans.csv": loans,
        "borrowers.csv": borrowers,
        "servicing_history.parquet": servicing_known_by(servicing, as_of),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {name.split(".")[0]: _write(frame, out_dir / name) for name, frame in sources.items()}
    (out_dir / "_as_of").write_text(f"{as_of.isoformat()}\n", encoding="utf-8")
    return counts
