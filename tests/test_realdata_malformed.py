"""Every real-data parser refuses a malformed file, naming the file, the line and what is
wrong: a truncated last line (a download cut short), a row with one field too many, and a
value that should be a number (or a numeric code) and is not."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.lib.realdata import (
    RealDataFormatError,
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
)
from tests.test_realdata_parsers import (
    ACQ_LINES,
    CBSA_LINES,
    HUD_LINES,
    METRO_LINES,
    PERF_LINES,
    PMMS_LINES,
    TZ_LINES,
    apor_lines,
    refused,
)

PO_LINES = [
    "state\tyr\tqtr\tindex_nsa\tindex_sa\tWarning",
    'AK\t1991\t1\t100\t100\t"* Note that this state has fewer than 15,000 transactions"',
    "AL\t2016\t1\t150.5\t149.75\t",
]
# parser, file name, delimiter, quoted, valid lines, (field, its name) that must be numeric
LAYOUTS: dict[str, tuple[Callable, str, str, bool, list[str], int, str]] = {
    "pmms": (read_pmms_history, "PMMS_history.csv", ",", True, PMMS_LINES, 1, "pmms30"),
    "fred": (read_fred_series, "MORTGAGE30US.csv", ",", True,
             ["observation_date,MORTGAGE30US", "2022-12-01,6.375", "2022-12-08,6.33"], 1,
             "rate"),
    "apor": (read_apor_table, "YieldTableFixed.csv", ",", True,
             apor_lines("Term of Loan in Years", ["01/03/2000", "01/10/2000"]), 30, "30"),
    "hpi_state": (read_hpi_state, "hpi_at_state.csv", ",", True,
                  ["AK,1975,1,61.5", "AK,1975,2,63.25"], 3, "index_nsa"),
    "hpi_metro": (read_hpi_metro, "hpi_at_metro.csv", ",", True, METRO_LINES, 4, "index_nsa"),
    "hpi_us": (read_hpi_us_and_census, "hpi_at_us_and_census.csv", ",", True,
               ["USA,2024,2,680", "USA,2024,3,690.25"], 3, "index_nsa"),
    "hpi_zip3": (read_hpi_zip3_quarterly, "hpi_at_3zip_quarterly.csv", ",", True,
                 ["zip3,year,quarter,index_nsa,index_type", "010,1995,1,100,Native",
                  "011,2022,4,120.5,Balance of State"], 3, "index_nsa"),
    "hpi_po_state": (read_hpi_po_state, "HPI_PO_state.txt", "\t", True, PO_LINES, 3,
                     "index_nsa"),
    "hud_zip_county": (read_zip_county, "hud_zip_county_122020.csv", ",", True, HUD_LINES, 2,
                       "RES_RATIO"),
    "county_cbsa": (read_county_cbsa, "cbsa2fipsxw.csv", ",", True, CBSA_LINES, 0,
                    "cbsacode"),
    "zip_timezones": (read_zip_timezones, "zipcodes_pkg_zip_city_county_tz.csv", ",", True,
                      TZ_LINES, 7, "lat"),
    "acquisition": (read_acquisition, "Acquisition_2000Q1.txt", "|", False, ACQ_LINES, 3,
                    "orig_interest_rate"),
    "performance": (read_performance, "Performance_2000Q1-P.txt", "|", False, PERF_LINES, 4,
                    "current_actual_upb"),
}


def split(line: str, sep: str, quoted: bool) -> list[str]:
    mode = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    return next(csv.reader([line], delimiter=sep, quoting=mode))


def join(fields: list[str], sep: str, quoted: bool) -> str:
    if not quoted:
        return sep.join(fields)
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="").writerow(fields)
    return out.getvalue()


def write(tmp_path: Path, name: str, lines: list[str], final_eol: bool = True) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + ("\n" if final_eol else ""), encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_valid_fixture_reads(layout, tmp_path):
    reader, name, _, _, lines, _, _ = LAYOUTS[layout]
    assert reader(write(tmp_path, name, lines)).height > 0  # the cases below differ by one cut


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_truncated_last_line_is_refused(layout, tmp_path):
    reader, name, _, _, lines, _, _ = LAYOUTS[layout]
    cut = lines[:-1] + [lines[-1][: len(lines[-1]) // 2]]  # the download stopped mid-line
    path = write(tmp_path, name, cut, final_eol=False)
    with pytest.raises(RealDataFormatError) as info:
        reader(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line {len(lines)}: "), message
    assert "truncated" in message or "fields, found" in message, message


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_one_field_too_many_is_refused(layout, tmp_path):
    reader, name, sep, quoted, lines, _, _ = LAYOUTS[layout]
    fields = split(lines[-1], sep, quoted)
    path = write(tmp_path, name, lines[:-1] + [join([*fields, "1"], sep, quoted)])
    with refused(path, len(lines), f"found {len(fields) + 1}"):
        reader(path)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_non_numeric_value_is_refused(layout, tmp_path):
    reader, name, sep, quoted, lines, field, column = LAYOUTS[layout]
    fields = split(lines[-1], sep, quoted)
    fields[field] = "n/a"
    path = write(tmp_path, name, lines[:-1] + [join(fields, sep, quoted)])
    with refused(path, len(lines), column, "'n/a' is not a"):
        reader(path)
