"""Injection: hostile text in the landing zone stays inert in everything a night writes.

Borrower names, addresses, cities, emails and ids that begin with = + - @ tab or CR (spreadsheet
formulas), that hold quotes, commas and newlines (CSV framing), HTML (email bodies) or Jinja
(templates), run for three nights, so that every channel's file gets rows: each CSV is read
back with the csv module, no cell may start a formula, and the values round-trip. Column names
of a landing file reach SQL too; they must stay names.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.landing import load_landing_zone
from pipelines.lib.send_files import FORMULA_STARTS, SEND_FILES, csv_bytes
from tests.support.adversarial_night import (
    Slot,
    edit_csv,
    ok,
    read_csv,
    run_night,
    sample_zone,
    write_csv,
)
from tests.support.landing_zone import write_landing_zone

PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HTML = '<b id="inj">'
JINJA = "{{ 7*7 }}"
# heloc's mailer goes out on day 30, the calls of financial_planning on day 7: three nights
# give every channel rows
NIGHTS = (date(2026, 10, 1), date(2026, 10, 15), date(2026, 10, 31))


def guarded(text: str) -> str:
    """What the contract's guard makes of a text cell (pipelines/lib/send_files.py)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _hostile(zone: Path) -> dict[str, dict[str, str]]:
    """Rewrite the sample's people into hostile text; returns borrower rows by new id."""
    ids: dict[str, str] = {}

    def borrowers(header, rows):
        for i, row in enumerate(rows):
            p = PREFIXES[i % 6]
            ids[row["borrower_id"]] = "=" + row["borrower_id"]
            row["borrower_id"] = ids[row["borrower_id"]]
            first = row["first_name"]
            if i % 5 == 0:
                first = HTML + first
            elif i % 7 == 0:
                first = JINJA + first
            row["first_name"] = p + first
            row["last_name"] = (PREFIXES[(i + 1) % 6] + row["last_name"] if i % 2
                                else f'O"{row["last_name"]}, Jr.')
            row["mailing_address"] = PREFIXES[(i + 1) % 6] + \
                f'{i} "Old" Mill Rd, Apt 4\nBldg {i}'
            row["mailing_city"] = PREFIXES[(i + 2) % 6] + 'Town, "X"'
            if i % 3 == 0 and row["email"]:
                row["email"] = f'o"neil,{i}@example.com'

    def rename(column):
        def change(header, rows):
            for row in rows:
                if row.get(column) in ids:
                    row[column] = ids[row[column]]
        return change

    officers: dict[str, str] = {}

    def loan_officers(header, rows):
        for row in rows:
            officers[row["loan_officer_id"]] = "@" + row["loan_officer_id"]
            row["loan_officer_id"] = officers[row["loan_officer_id"]]

    def loans(header, rows):
        rename("borrower_id")(header, rows)
        for row in rows:
            row["loan_officer_id"] = officers.get(row["loan_officer_id"], row["loan_officer_id"])

    edit_csv(zone / "borrowers.csv", borrowers)
    edit_csv(zone / "loan_officers.csv", loan_officers)
    edit_csv(zone / "loans.csv", loans)
    for source in ("engagement_events", "contact_preferences", "conversions"):
        edit_csv(zone / f"{source}.csv", rename("borrower_id"))
    _, rows = read_csv(zone / "borrowers.csv")
    return {r["borrower_id"]: r for r in rows}


@pytest.fixture(scope="module")
def hostile_nights(tmp_path_factory):
    root = tmp_path_factory.mktemp("injection")
    zone = sample_zone(root / "zone", NIGHTS[0], loans=60, seed=3)
    people = _hostile(zone)
    slot = Slot(root / "slot")
    slot.clear()
    for night in NIGHTS:
        done = run_night(zone, slot.warehouse, slot.out, night)
        assert done.returncode == 0, ok(done)
    files = {}
    for night in NIGHTS:
        for name in SEND_FILES:
            data = (slot.out / night.isoformat() / name).read_bytes().decode("utf-8")
            files[(night, name)] = list(csv.reader(io.StringIO(data, newline=""), strict=True))
    return people, files, slot


def _records(files, name):
    for (night, file), rows in files.items():
        if file == name:
            header = rows[0]
            for row in rows[1:]:
                assert len(row) == len(header), (night, file, row)
                yield dict(zip(header, row, strict=True))


def _unguard(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


@pytest.mark.slow
@pytest.mark.soak
def test_every_channel_got_hostile_rows(hostile_nights):
    _, files, _ = hostile_nights
    for name in SEND_FILES:
        assert list(_records(files, name)), f"no {name} row in three nights"


@pytest.mark.slow
@pytest.mark.soak
def test_no_cell_of_any_send_file_starts_a_formula(hostile_nights):
    _, files, _ = hostile_nights
    for (night, name), rows in files.items():
        header = rows[0]
        for row in rows[1:]:
            for column, value in zip(header, row, strict=True):
                if column == "to_phone" and value.startswith("+") and value[1:].isdigit():
                    continue  # E.164, exempt by the contract
                assert not value.startswith(FORMULA_STARTS), (night, name, column, value[:60])


@pytest.mark.slow
@pytest.mark.soak
def test_names_and_addresses_round_trip_quotes_commas_newlines(hostile_nights):
    people, files, _ = hostile_nights
    mail = list(_records(files, "direct_mail.csv"))
    for row in mail:
        person = people[_unguard(row["borrower_id"])]
        assert row["borrower_id"] == guarded(person["borrower_id"])
        assert row["name"] == guarded(f"{person['first_name']} {person['last_name']}".strip())
        assert row["address"] == guarded(person["mailing_address"])
        assert row["city"] == guarded(person["mailing_city"])
    emails = list(_records(files, "email.csv"))
    for row in emails:
        assert row["to_email"] == guarded(people[_unguard(row["borrower_id"])]["email"])
    assert any('"' in r["to_email"] and "," in r["to_email"] for r in emails)
    assert any("\n" in r["address"] and '"' in r["address"] for r in mail)


@pytest.mark.slow
@pytest.mark.soak
def test_subjects_that_begin_with_a_name_are_guarded(hostile_nights):
    people, files, _ = hostile_nights
    firsts = {p["first_name"] for p in people.values()}
    led = [r["subject"] for r in _records(files, "email.csv")
           if any(_unguard(r["subject"]).startswith(f) for f in firsts)]
    assert led, "no subject begins with the borrower's name"
    assert all(not s.startswith(FORMULA_STARTS) for s in led)


@pytest.mark.slow
@pytest.mark.soak
def test_html_and_jinja_in_names_stay_text(hostile_nights):
    _, files, _ = hostile_nights
    emails = list(_records(files, "email.csv"))
    assert not any(HTML in r["body_html"] for r in emails)
    assert any("&lt;b id=" in r["body_html"] for r in emails), "no HTML-bearing name was mailed"
    texts = [r["body_text"] for name in ("email.csv", "sms.csv", "direct_mail.csv")
             for r in _records(files, name)] + [r["script_text"] for r in
                                                _records(files, "call_list.csv")]
    assert any(JINJA in t for t in texts), "no Jinja-bearing name was rendered"


@pytest.mark.slow
@pytest.mark.soak
def test_the_report_holds_no_hostile_markup(hostile_nights):
    _, _, slot = hostile_nights
    for night in NIGHTS:
        report = (slot.out / night.isoformat() / "report.html").read_text()
        assert HTML not in report and "<script" not in report


# --- the writer itself, fast


@pytest.mark.parametrize("value", [
    "=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\",\"y\")",
    'He said "hi", then left', "two\nlines", "cr\r\nlf", "", " =leading space",
])
def test_a_hostile_cell_round_trips_guarded(value):
    row = {c: None for c in SEND_FILES["direct_mail.csv"]} | {"message_id": "m1",
                                                               "address": value, "name": value}
    data, count = csv_bytes("direct_mail.csv", [row])
    parsed = list(csv.reader(io.StringIO(data.decode(), newline=""), strict=True))
    assert count == 1 and len(parsed) == 2
    got = dict(zip(parsed[0], parsed[1], strict=True))
    assert got["address"] == guarded(value) and got["name"] == guarded(value)


# --- column names reach SQL


GOOD = {
    "borrowers": [{"borrower_id": "B1"}],
    "loans": [{"loan_id": "L1", "borrower_id": "B1", "close_date": "2024-11-27",
            "first_payment_date": "2025-01-01"}],
    "market_rates": [{"rate_date": "2026-11-26", "product": "fixed_30", "rate": "6.25"}],
    "hpi": [{"geo_level": "national", "geo_code": "US", "period_start": "2026-01-01",
          "index_value": "300"}],
}


def _with_extra_column(tmp_path: Path, name: str) -> Path:
    zone = write_landing_zone(tmp_path / "zone", date(2026, 11, 27), **GOOD)
    header, rows = read_csv(zone / "hpi.csv")
    write_csv(zone / "hpi.csv", [*header, name], [r | {name: "kept"} for r in rows])
    return zone


def test_a_column_name_cannot_run_sql(tmp_path):
    target = tmp_path / "pwned.csv"
    evil = (f"""x" from landing_hpi_0; copy (select 'pwned' as p) to '{target}'; """
            """select 1 as "y""")
    zone = _with_extra_column(tmp_path, evil)
    with duckdb.connect() as con:
        try:
            load_landing_zone(con, zone)
        finally:
            assert not target.exists(), "a column name ran SQL: it wrote a file"


def test_an_extra_column_with_a_quote_in_its_name_is_kept(tmp_path):
    zone = _with_extra_column(tmp_path, 'note "internal"')
    with duckdb.connect() as con:
        _, problems = load_landing_zone(con, zone)
        assert problems == []
        assert con.execute('select "note ""internal""" from raw.hpi').fetchall() == [("kept",)]
