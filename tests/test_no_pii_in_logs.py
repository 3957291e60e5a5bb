"""No personal data in what a night says about itself: its output, its logs, its reports.

Every email, phone, first and last name, street address and SMS reply text of the landing zone
is searched for in the stdout and stderr of `xsell -v run` (debug logging), in the validation
report JSON the night keeps, and in its report.html and manifest.json (ids and counts only, by
their contract). Names and addresses are made distinctive first, so a hit is never a chance
word. Refusals print example rows: those are probed class by class, fast, and end to end.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.landing import load_landing_zone
from pipelines.lib.problems import Problem
from pipelines.lib.sources import SOURCES
from pipelines.lib.validation import validate_source
from pipelines.lib.validation_report import write_validation_report
from tests.support.adversarial_night import (
    Slot,
    edit_csv,
    ok,
    read_csv,
    run_night,
    sample_zone,
)

NIGHT = date(2026, 9, 20)


def distinctive(zone: Path) -> Path:
    """Give every borrower a name and street no log line could hold by chance."""
    def change(header, rows):
        for i, row in enumerate(rows):
            row["first_name"] = f"{row['first_name']}Qz{i:04d}"
            row["last_name"] = f"{row['last_name']}Wx{i:04d}"
            if row["mailing_address"]:
                row["mailing_address"] = f"{row['mailing_address']} Unit Kv{i:04d}"
    edit_csv(zone / "borrowers.csv", change)
    return zone


def personal_data(zone: Path) -> set[str]:
    """Every value of the landing zone that identifies a person."""
    found: set[str] = set()
    _, borrowers = read_csv(zone / "borrowers.csv")
    for row in borrowers:
        for column in ("first_name", "last_name", "email", "phone", "mailing_address"):
            found.add(row[column])
    _, officers = read_csv(zone / "loan_officers.csv")
    for row in officers:
        found |= {row["name"], row["email"], row["phone"]}
    _, dnc = read_csv(zone / "dnc_numbers.csv")
    found |= {row["phone"] for row in dnc}
    _, events = read_csv(zone / "engagement_events.csv")
    found |= {row["detail"] for row in events if len(row["detail"]) >= 6}
    found = {v for v in found if v}
    # a phone also shows up without its +, or as its ten national digits
    found |= {v[1:] for v in found if re.fullmatch(r"\+\d{8,15}", v)}
    found |= {v[-10:] for v in found if re.fullmatch(r"\+1\d{10}", v)}
    return found


def leaks(text: str, values: set[str]) -> list[str]:
    return sorted(v for v in values if v in text)


@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> Path:
    return distinctive(sample_zone(tmp_path_factory.mktemp("pii") / "zone", NIGHT))


def test_the_probe_finds_what_it_looks_for(zone):
    values = personal_data(zone)
    assert len(values) > 400
    _, borrowers = read_csv(zone / "borrowers.csv")
    assert leaks(f"hello {borrowers[7]['email']} there", values) == [borrowers[7]["email"]]


@pytest.mark.slow
@pytest.mark.soak
def test_a_whole_night_at_debug_level_says_nothing_personal(zone, tmp_path):
    slot = Slot(tmp_path / "slot")
    slot.clear()
    done = run_night(zone, slot.warehouse, slot.out, NIGHT, verbose=True)
    assert done.returncode == 0, ok(done)
    assert "xsell done" in done.stderr
    values = personal_data(zone)
    assert leaks(done.stdout, values) == []
    assert leaks(done.stderr, values) == []
    reports = list((slot.out / "validation").glob("*.json"))
    assert reports
    for report in reports:
        assert leaks(report.read_text(), values) == [], report.name
    night = slot.out / NIGHT.isoformat()
    for name in ("report.html", "manifest.json"):
        assert leaks((night / name).read_text(), values) == [], name
    # the send files do hold them: the probe would have seen a leak
    assert leaks((night / "email.csv").read_text(), values)


# --- refusals print example rows


def _unterminated_quote_before_more_rows(zone: Path) -> None:
    """Row 3 of borrowers.csv opens a quote that never closes; the reader swallows the rest."""
    path = zone / "borrowers.csv"
    lines = path.read_text().split("\n")
    lines[3] = lines[3].replace(",", ',"', 1)
    path.write_text("\n".join(lines))


def _multiline_address_with_a_field_too_many(zone: Path) -> None:
    """A quoted two-line address (fine) in a row that has one field too many (bad)."""
    def change(header, rows):
        rows[4]["mailing_address"] = "Attn: rear door\n" + rows[4]["mailing_address"]
    edit_csv(zone / "borrowers.csv", change)
    path = zone / "borrowers.csv"
    text = path.read_text()
    start = text.index("Attn: rear door\n")
    end = text.index("\n", start + len("Attn: rear door\n"))
    path.write_text(text[:end] + ",surplus" + text[end:])


def _set(source: str, column: str, value: str, row: int = 0):
    def mutate(zone: Path) -> None:
        def change(header, rows):
            rows[row][column] = value
        edit_csv(zone / f"{source}.csv", change)
    return mutate



def _latin1_far_down(zone: Path) -> None:
    path = zone / "borrowers.csv"
    lines = path.read_text().split("\n")
    lines[30] = lines[30].replace(",", ",Peña ", 1)
    path.write_bytes("\n".join(lines).encode("latin-1"))


REFUSALS = [
    pytest.param(_set("borrowers", "email", "ana.diaz.example.com"), id="borrower-email-format"),
    pytest.param(_set("borrowers", "phone", "555-867-5309"), id="borrower-phone-format"),
    pytest.param(_set("borrowers", "first_name", ""), id="borrower-first-name-missing"),
    pytest.param(lambda zone: edit_csv(zone / "borrowers.csv",
                                       lambda h, rows: rows.append(dict(rows[2]))),
                 id="borrower-id-twice"),
    pytest.param(_set("dnc_numbers", "phone", "555-867-5309"), id="dnc-phone-format"),
    pytest.param(_set("dnc_numbers", "list_name", "state"), id="dnc-list-name-unknown"),
    pytest.param(_set("dnc_numbers", "added_at", "last week"), id="dnc-date-unparseable"),
    pytest.param(_set("contact_preferences", "channel", "fax"), id="consent-channel-unknown"),
    pytest.param(_latin1_far_down, id="borrowers-latin1"),
    pytest.param(lambda zone: (zone / "borrowers.csv").write_bytes(
        (zone / "borrowers.csv").read_bytes()[:-25]), id="borrowers-truncated"),
    pytest.param(_unterminated_quote_before_more_rows, id="borrowers-unterminated-quote"),
    pytest.param(_multiline_address_with_a_field_too_many,
                 id="borrowers-two-line-address-row-too-long"),
]


def _refusal_text(zone: Path, folder: Path) -> str:
    """What a refused night prints (Problem.describe()) and keeps (the report JSON)."""
    with duckdb.connect() as con:
        _, problems = load_landing_zone(con, zone)
        if not problems:
            for source in SOURCES.values():
                problems += validate_source(con, source)
    fatal = [p for p in problems if p.fatal]
    if not fatal:
        pytest.fail("the case was not refused")
    report = write_validation_report(folder, NIGHT, "probe", problems)
    return "\n".join(Problem.describe(p) for p in fatal) + "\n" + report.read_text()


@pytest.mark.parametrize("mutate", REFUSALS)
def test_a_refusal_names_rows_without_personal_data(zone, tmp_path, mutate):
    case = tmp_path / "zone"
    shutil.copytree(zone, case)
    mutate(case)
    text = _refusal_text(case, tmp_path / "out")
    assert leaks(text, personal_data(zone)) == [], text[:2000]


@pytest.mark.slow
@pytest.mark.soak
@pytest.mark.parametrize("mutate", [
    pytest.param(_set("dnc_numbers", "list_name", "state"), id="dnc-key"),
    pytest.param(_unterminated_quote_before_more_rows, id="duckdb-lines"),
])
def test_a_refused_night_says_nothing_personal(zone, tmp_path, mutate):
    case = tmp_path / "zone"
    shutil.copytree(zone, case)
    mutate(case)
    slot = Slot(tmp_path / "slot")
    slot.clear()
    done = run_night(case, slot.warehouse, slot.out, NIGHT, verbose=True)
    reports = sorted((slot.out / "validation").glob("*.json"))
    if done.returncode != 1 or [json.loads(r.read_text())["outcome"] for r in reports] != [
            "refused"]:
        pytest.fail("not refused as expected\n" + ok(done))
    kept = reports[0].read_text()
    assert leaks(done.stdout + done.stderr + kept, personal_data(zone)) == [], \
        done.stderr[-3000:]
