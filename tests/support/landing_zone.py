"""Build small hand-made landing zones for tests: a row is a dict over sensible defaults."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from pipelines.lib.sources import SOURCES

DEFAULTS: dict[str, dict[str, str]] = {
    "borrowers": {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.com",
                  "phone": "+15555550101", "mailing_address": "1 Elm St", "mailing_city": "Austin",
                  "mailing_state": "TX", "mailing_zip": "78701", "timezone": "",
                  "is_investor": "false", "annual_income": "120000"},
    "loans": {"loan_officer_id": "", "loan_purpose": "purchase", "occupancy": "primary",
              "property_type": "sfr", "property_state": "TX", "property_zip": "78701",
              "property_cbsa": "12420", "property_census_tract": "", "rate_type": "fixed",
              "term_months": "360", "note_rate": "7.000", "original_amount": "300000",
              "original_value": "400000", "first_payment_date": "", "close_date": "",
              "current_upb": "", "status": "funded", "status_date": "2024-01-01",
              "servicing_status": "current", "credit_score": "740", "has_pmi": "false",
              "next_rate_reset_date": ""},
    "loan_officers": {"name": "Lee Officer", "email": "lee@lender.example",
                      "phone": "+15555550199", "nmls_id": "998877"},
}


def write_landing_zone(folder: Path, as_of: date, **sources: list[dict]) -> Path:
    """Write every source (missing ones with a header only) and the `_as_of` file."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in SOURCES.items():
        rows = sources.get(name, [])
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(source.column_names),
                                    lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: "" for c in source.column_names}
                                | DEFAULTS.get(name, {}) | {k: str(v) for k, v in row.items()})
    (folder / "_as_of").write_text(as_of.isoformat() + "\n")
    return folder


def append_rows(zone: Path, source: str, rows: list[dict]) -> None:
    """Append rows to `<zone>/<source>.csv` as a lender's next drop would: columns by the
    file's header, absent ones empty."""
    path = zone / f"{source}.csv"
    with path.open(newline="") as handle:
        header = next(csv.reader(handle))
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        for row in rows:
            writer.writerow({c: "" for c in header} | {k: str(v) for k, v in row.items()})
