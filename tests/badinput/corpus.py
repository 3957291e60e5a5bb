"""The bad-input corpus: one landing zone per class of INPUTS.md, each one good zone with one flaw.

Every case starts from a copy of a valid landing zone (the synthetic sample) and changes one
thing. The column cases are generated from the rules themselves (pipelines/lib/sources.py holds
INPUTS.md as data), so a rule added there gets its case here; the file-level classes and the
accepted cases are written out by hand below.

    .venv/bin/python -m tests.badinput.corpus OUT_DIR   # writes OUT_DIR/<case id>/ per case

`expect` says what a night must do with the zone:
- "refused": exit 1 naming `file`, `column` and `rule` (a prefix of the reported rule);
- "quarantined": exit 0, the rows set aside and counted under that file, column and rule;
- "accepted": exit 0 and no problem at all.

`thorough` cases (the generated column rules, every required column missing in turn) are judged
by intake in the slow suite only; the default suite keeps one case per class.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.sources import E164, EMAIL, SOURCES, ZIP5, Column, Source
from tests.support.adversarial_night import edit_csv, read_csv, sample_zone, write_csv

MEGABYTE = 1 << 20
NOWHERE = "NOPE-404"  # a key no source holds

# A value that breaks each pattern the way real exports do.
BAD_PATTERN = {
    E164: "555-867-5309",  # a local number, not E.164
    EMAIL: "ana.diaz.example.com",
    ZIP5: "7870",  # a ZIP that lost its leading zero and more
    r"^[0-9]{5}$": "1242",
    r"^[0-9]{11}$": "4845301",
    r"^[0-9a-fA-F]{64}$": "sha256:not-a-digest",
    r"^[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)*$": "Central Time (US)",
}
BAD_PARSE = {
    "date": "11/27/2024",
    "timestamp": "27/11/2026 10:00",
    "decimal": "1,200.50",
    "integer": "360.5",
    "boolean": "maybe",
}


@dataclass(frozen=True)
class Case:
    id: str
    what: str
    mutate: Callable[[Path], None] = field(repr=False, compare=False)
    expect: str  # refused | quarantined | accepted
    file: str = ""  # the file name the message names
    column: str = ""
    rule: str = ""  # the reported rule starts with this
    cli: bool = False  # also run through `xsell run` by the slow suite
    thorough: bool = False  # intake judges it with the slow suite only (one of many alike)
    bug: str = ""  # a known pipeline bug makes the case fail: the tests mark it xfail(strict)


# --- mutations


def _rows(source: str, change: Callable[[list[dict]], object]) -> Callable[[Path], None]:
    return lambda zone: edit_csv(zone / f"{source}.csv", lambda header, rows: change(rows))


def _set(source: str, column: str, value: str, *, every: bool = False,
         where: Callable[[dict], bool] = lambda r: True) -> Callable[[Path], None]:
    """Set column to value in the first row that `where` accepts (or in every row)."""
    def change(rows: list[dict]) -> None:
        chosen = [r for r in rows if where(r)]
        assert chosen, f"no {source} row to change"
        for row in chosen if every else chosen[:1]:
            row[column] = value
    return _rows(source, change)


def _funded(row: dict) -> bool:
    return row["status"] == "funded"


def _text(source: str, change: Callable[[str], str]) -> Callable[[Path], None]:
    def mutate(zone: Path) -> None:
        path = zone / f"{source}.csv"
        path.write_bytes(change(path.read_bytes().decode("utf-8")).encode("utf-8"))
    return mutate


def _bytes(source: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def mutate(zone: Path) -> None:
        path = zone / f"{source}.csv"
        path.write_bytes(change(path.read_bytes()))
    return mutate


def _drop_file(source: str) -> Callable[[Path], None]:
    return lambda zone: (zone / f"{source}.csv").unlink()


def _drop_column(source: str, column: str) -> Callable[[Path], None]:
    def mutate(zone: Path) -> None:
        path = zone / f"{source}.csv"
        header, rows = read_csv(path)
        header.remove(column)
        write_csv(path, header, [{k: v for k, v in r.items() if k != column} for r in rows])
    return mutate


def _chain(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(zone: Path) -> None:
        for step in steps:
            step(zone)
    return mutate


# --- the column rules of INPUTS.md, generated


def _break(source: Source, column: Column, value: str, rule: str, variant: str = "") -> Case:
    # One bad row is quarantined in the optional logs (given enough rows), so the refused
    # case breaks the rule in every row: over the quarantine share, the file is bad input.
    every = source.quarantine
    shown = value if len(value) <= 40 else value[:40] + "..."
    return Case(
        id=f"{source.name}.{column.name}.{rule}" + (f".{variant}" if variant else ""),
        what=f"{source.name}.{column.name} = {shown!r}{' in every row' if every else ''}",
        mutate=_set(source.name, column.name, value, every=every),
        expect="refused", file=f"{source.name}.csv", column=column.name, rule=rule,
        thorough=True)


def _number(value: float) -> str:
    return f"{value:g}"


def column_rule_cases() -> list[Case]:
    cases = []
    for source in SOURCES.values():
        for column in source.columns:
            if column.required:
                cases.append(_break(source, column, "", "not_null"))
            if column.allowed:
                cases.append(_break(source, column, "not_a_" + column.name, "allowed_values"))
            if column.pattern:
                cases.append(_break(source, column, BAD_PATTERN[column.pattern], "format"))
            if column.kind in BAD_PARSE:
                cases.append(_break(source, column, BAD_PARSE[column.kind], f"type.{column.kind}"))
            rule = column.rule or "range"
            if column.min is not None:
                # a rate given as a fraction is the classic way below the 0.5 % floor
                low = "0.0675" if rule == "rate_in_percent" else _number(column.min - 1)
                cases.append(_break(source, column, low, rule, "low"))
            if column.min_exclusive is not None:
                cases.append(_break(source, column, _number(column.min_exclusive), rule, "zero"))
                cases.append(_break(source, column, _number(column.min_exclusive - 100), rule,
                                    "negative"))
            if column.max is not None:
                cases.append(_break(source, column, _number(column.max + 1), rule, "high"))
            if column.max_exclusive is not None:
                cases.append(_break(source, column, _number(column.max_exclusive), rule, "high"))
    return cases


def key_cases() -> list[Case]:
    cases = []
    for source in SOURCES.values():
        every = source.quarantine
        if source.kind == "state" and source.key:
            def duplicate(rows: list[dict], every: bool = every) -> None:
                rows.extend([dict(r) for r in (rows if every else rows[:1])])
            cases.append(Case(
                f"{source.name}.key.unique", f"{source.name}: a primary key twice in one file",
                _rows(source.name, duplicate), "refused", f"{source.name}.csv",
                source.key[0], "key.unique"))
        for fk in source.foreign_keys:
            cases.append(Case(
                f"{source.name}.{fk.column}.foreign_key",
                f"{source.name}.{fk.column}: a reference to a {fk.source} row that does not exist",
                _set(source.name, fk.column, NOWHERE, every=every), "refused",
                f"{source.name}.csv", fk.column, f"foreign_key.{fk.source}"))
    return cases


# --- the file-level classes and the accepted cases, by hand


def _latin1(data: bytes) -> bytes:
    text = data.decode("utf-8").splitlines(keepends=True)
    # a name far down the file, so no header check can catch it: the whole file is read
    fields = text[40].split(",")
    fields[2] = "Peña"
    text[40] = ",".join(fields)
    return "".join(text).encode("latin-1")


def _truncate_last_line(data: bytes) -> bytes:
    body = data.rstrip(b"\r\n")
    last = body.rfind(b"\n") + 1
    return body[: last + (len(body) - last) // 2]  # half of the last row, no line end


def _unterminated_quote(text: str) -> str:
    lines = text.split("\n")
    lines[3] = lines[3].replace(",", ',"', 1)  # an opening quote that never closes
    return "\n".join(lines)


def _extra_field(text: str) -> str:
    lines = text.split("\n")
    lines[5] = lines[5] + ",surplus"
    return "\n".join(lines)


def _to_parquet_with_wrong_types(zone: Path) -> None:
    """loans.parquet whose close_date is an integer (20241127), not a date or ISO text."""
    csv_file, parquet = zone / "loans.csv", zone / "loans.parquet"
    with duckdb.connect() as con:
        con.execute(f"""
            copy (select * replace (
                      cast(strftime(cast(close_date as date), '%Y%m%d') as bigint) as close_date)
                  from read_csv('{csv_file}', all_varchar = true))
            to '{parquet}' (format parquet)""")
    csv_file.unlink()


def _to_parquet_typed(zone: Path) -> None:
    """loans.parquet with proper Parquet types (DATE, DECIMAL, INTEGER, BOOLEAN): accepted."""
    csv_file, parquet = zone / "loans.csv", zone / "loans.parquet"
    with duckdb.connect() as con:
        con.execute(f"""
            copy (select * replace (
                      cast(term_months as integer) as term_months,
                      cast(note_rate as decimal(6, 3)) as note_rate,
                      cast(original_amount as decimal(14, 2)) as original_amount,
                      cast(close_date as date) as close_date,
                      cast(first_payment_date as date) as first_payment_date,
                      cast(status_date as date) as status_date,
                      cast(has_pmi as boolean) as has_pmi)
                  from read_csv('{csv_file}', all_varchar = true))
            to '{parquet}' (format parquet)""")
    csv_file.unlink()


def _bom_crlf_everywhere(zone: Path) -> None:
    for path in sorted(zone.glob("*.csv")):
        text = path.read_bytes().decode("utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))


def _later_than(as_of: date) -> str:
    return date.fromordinal(as_of.toordinal() + 3).isoformat()


FUTURE_RATE = "2.345"  # a market rate no night up to the as_of may use


def _future_rows(as_of: date) -> Callable[[Path], None]:
    later = _later_than(as_of)

    def add_rate(rows: list[dict]) -> None:
        rows.append({"rate_date": later, "product": "fixed_30", "rate": FUTURE_RATE,
                     "apr": FUTURE_RATE, "published_on": later})

    def add_event(rows: list[dict]) -> None:
        rows.append(dict(rows[0]) | {"event_id": "E-from-the-future", "event_type": "email_click",
                                     "occurred_at": f"{later}T12:00:00Z"})

    def add_milestone(rows: list[dict]) -> None:
        rows.append(dict(rows[0]) | {"milestone": "withdrawn", "occurred_at": f"{later}T09:00:00Z"})

    return _chain(_rows("market_rates", add_rate), _rows("engagement_events", add_event),
                  _rows("loan_events", add_milestone))


def _same_event_twice(rows: list[dict]) -> None:
    first = rows[0]
    other = "email_click" if first["event_type"] != "email_click" else "email_open"
    rows.append(dict(first) | {"event_type": other})


def file_cases(as_of: date) -> list[Case]:
    c = Case
    cases = [
        *(c(f"{s}.file.present", f"required source {s} has no file", _drop_file(s), "refused",
            f"{s}.csv", "*", "file.present", cli=s == "hpi")
          for s, src in SOURCES.items() if src.required),
        *(c(f"{s}.file.not_empty", f"{s}.csv is 0 bytes", _bytes(s, lambda b: b""), "refused",
            f"{s}.csv", "*", "file.not_empty", cli=s == "market_rates")
          for s in SOURCES),
        *(c(f"{s}.file.has_rows", f"{s}.csv has a header and no rows",
            _rows(s, lambda rows: rows.clear()), "refused", f"{s}.csv", "*", "file.has_rows",
            cli=s == "loans")
          for s, src in SOURCES.items() if src.required),
        *(c(f"{s}.{col.name}.column.present", f"{s}.csv lacks its required column {col.name}",
            _drop_column(s, col.name), "refused", f"{s}.csv", col.name, "column.present",
            cli=(s, col.name) == ("loans", "note_rate"),
            thorough=col.name != src.columns[0].name and col.name != "note_rate")
          for s, src in SOURCES.items() for col in src.columns if col.required),
        c("loans.truncated_last_line", "loans.csv cut off in the middle of its last row",
          _bytes("loans", _truncate_last_line), "refused", "loans.csv", "*", "file.csv_format",
          cli=True),
        c("loans.unterminated_quote", "a quote opened in row 3 of loans.csv never closes",
          _text("loans", _unterminated_quote), "refused", "loans.csv", "*", "file.csv_format",
          cli=True),
        c("market_rates.extra_field", "a row of market_rates.csv with one field too many",
          _text("market_rates", _extra_field), "refused", "market_rates.csv", "*",
          "file.csv_format"),
        c("hpi.wrong_delimiter", "hpi.csv delimited by semicolons",
          _text("hpi", lambda t: t.replace(",", ";")), "refused", "hpi.csv", "geo_level",
          "column.present", cli=True),
        c("loans.tab_delimiter", "loans.csv delimited by tabs",
          _text("loans", lambda t: t.replace(",", "\t")), "refused", "loans.csv", "loan_id",
          "column.present"),
        c("borrowers.latin1", "borrowers.csv in Latin-1, a name with ñ in row 40",
          _bytes("borrowers", _latin1), "refused", "borrowers.csv", "*", "file.utf8", cli=True),
        c("borrowers.latin1_header", "borrowers.csv in Latin-1 with ñ in the header",
          _bytes("borrowers", lambda b: b.replace(b"annual_income", b"a\xf1o_income", 1)),
          "refused", "borrowers.csv", "*", "file.utf8"),
        c("loans.megabyte_in_a_rule_column", "a 1 MB value in loans.property_state",
          _set("loans", "property_state", "T" * MEGABYTE), "refused", "loans.csv",
          "property_state", "allowed_values", cli=True),
        c("loans.duplicate_key", "loan_id twice in loans.csv",
          _rows("loans", lambda rows: rows.append(dict(rows[3]))), "refused", "loans.csv",
          "loan_id", "key.unique", cli=True),
        c("loans.orphan_borrower", "a loan whose borrower does not exist",
          _set("loans", "borrower_id", NOWHERE), "refused", "loans.csv", "borrower_id",
          "foreign_key.borrowers", cli=True),
        c("loans.unparseable_date", "close_date written 11/27/2024",
          _set("loans", "close_date", "11/27/2024", where=_funded), "refused", "loans.csv",
          "close_date", "type.date", cli=True),
        c("loans.impossible_date", "close_date 2025-02-30",
          _set("loans", "close_date", "2025-02-30", where=_funded), "refused", "loans.csv",
          "close_date", "type.date"),
        c("loans.rate_as_fraction", "note_rate 0.0675 where 6.75 was meant",
          _set("loans", "note_rate", "0.0675"), "refused", "loans.csv", "note_rate",
          "rate_in_percent", cli=True),
        c("market_rates.rate_as_fraction", "a market rate 0.0625 where 6.25 was meant",
          _set("market_rates", "rate", "0.0625"), "refused", "market_rates.csv", "rate",
          "rate_in_percent", cli=True),
        c("loans.zero_money", "original_amount 0", _set("loans", "original_amount", "0"),
          "refused", "loans.csv", "original_amount", "range", cli=True),
        c("loans.negative_money", "current_upb -1500.00",
          _set("loans", "current_upb", "-1500.00", where=_funded), "refused", "loans.csv",
          "current_upb", "range", cli=True),
        c("loans.funded_without_first_payment", "a funded loan without first_payment_date",
          _set("loans", "first_payment_date", "", where=_funded), "refused", "loans.csv",
          "first_payment_date", "funded_loan_has_date", cli=True),
        c("loans.amount_beyond_the_staged_decimal", "original_amount 1e20: a decimal > 0, as "
          "INPUTS.md asks, too large for the DECIMAL(18, 2) staging casts it to",
          _set("loans", "original_amount", "1e20", where=_funded), "refused", "loans.csv",
          "original_amount", "type.decimal.too_large", cli=True),
        c("loans.amount_past_the_headroom", "original_value 9999999999999999.99: fits "
          "DECIMAL(18, 2) itself, yet the figures derived from it would not",
          _set("loans", "original_value", "9999999999999999.99", where=_funded), "refused",
          "loans.csv", "original_value", "type.decimal.too_large"),
        c("loans.amount_infinite", "current_upb 1e400: parses as a number, infinite as a double",
          _set("loans", "current_upb", "1e400", where=_funded), "refused", "loans.csv",
          "current_upb", "type.decimal.too_large"),
        c("loans.term_not_integer", "term_months 360.5", _set("loans", "term_months", "360.5"),
          "refused", "loans.csv", "term_months", "type.integer", cli=True),
        c("borrowers.first_name_null", "a borrower without a first name",
          _set("borrowers", "first_name", ""), "refused", "borrowers.csv", "first_name",
          "not_null", cli=True),
        c("borrowers.phone_not_e164", "a phone written 555-867-5309",
          _set("borrowers", "phone", "555-867-5309"), "refused", "borrowers.csv", "phone",
          "format", cli=True),
        c("loans.occupancy_unknown", "occupancy 'vacation'",
          _set("loans", "occupancy", "vacation"), "refused", "loans.csv", "occupancy",
          "allowed_values", cli=True),
        c("loans.has_pmi_not_boolean", "has_pmi 'maybe'", _set("loans", "has_pmi", "maybe"),
          "refused", "loans.csv", "has_pmi", "type.boolean", cli=True),
        c("loans.parquet_wrong_type", "loans.parquet with close_date as an integer 20241127",
          _to_parquet_with_wrong_types, "refused", "loans.parquet", "close_date", "type.date",
          cli=True),
        c("loans.parquet_typed", "loans.parquet with real Parquet types", _to_parquet_typed,
          "accepted"),
        # consent fails closed: one bad row stops the night, it is never quarantined
        c("contact_preferences.bad_row_stops_the_run", "a consent row with channel 'fax'",
          _set("contact_preferences", "channel", "fax"), "refused", "contact_preferences.csv",
          "channel", "allowed_values", cli=True),
        c("dnc_numbers.bad_phone", "a DNC entry that is not E.164",
          _set("dnc_numbers", "phone", "555-867-5309"), "refused", "dnc_numbers.csv", "phone",
          "format", cli=True),
        c("template_approvals.reviewed_at_unparseable", "an approval reviewed 'yesterday'",
          _set("template_approvals", "reviewed_at", "yesterday"), "refused",
          "template_approvals.csv", "reviewed_at", "type.timestamp", cli=True),
        c("engagement_events.over_the_quarantine_share", "every engagement event is an orphan",
          _set("engagement_events", "borrower_id", NOWHERE, every=True), "refused",
          "engagement_events.csv", "borrower_id", "foreign_key.borrowers", cli=True),
        # accepted, with or without quarantine
        c("bom_and_crlf", "every CSV with a UTF-8 BOM and CRLF line ends",
          _bom_crlf_everywhere, "accepted", cli=True),
        c("rows_after_the_as_of", "a market rate, an engagement event and a milestone dated "
          "after the as_of", _future_rows(as_of), "accepted", cli=True),
        c("loan_events.bad_row_quarantined", "one loan event for a loan that does not exist",
          _set("loan_events", "loan_id", NOWHERE), "quarantined", "loan_events.csv", "loan_id",
          "foreign_key.loans", cli=True),
        c("engagement_events.same_event_id_other_content",
          "an event_id delivered twice with different content",
          _rows("engagement_events", _same_event_twice), "quarantined",
          "engagement_events.csv", "event_id", "key.same_content", cli=True),
        c("engagement_events.same_event_id_same_content",
          "an event delivered twice, byte for byte: one event",
          _rows("engagement_events", lambda rows: rows.append(dict(rows[0]))), "accepted"),
        c("contact_preferences.megabyte_free_text", "a 1 MB `source` in a consent row",
          _set("contact_preferences", "source", "web form " + "x" * MEGABYTE), "accepted",
          cli=True),
    ]
    return cases


def all_cases(as_of: date) -> list[Case]:
    cases = column_rule_cases() + key_cases() + file_cases(as_of)
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"case ids repeated: {duplicates}"
    return cases


def materialize(case: Case, base: Path, folder: Path) -> Path:
    """The case's landing zone: a copy of base with the case's one flaw."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(base, folder)
    case.mutate(folder)
    return folder


AS_OF = date(2026, 9, 15)


def write_corpus(out: Path, as_of: date = AS_OF) -> list[Case]:
    base = sample_zone(out / "_base", as_of)
    cases = all_cases(as_of)
    for case in cases:
        materialize(case, base, out / case.id)
        (out / case.id / "_case.txt").write_text(
            f"{case.what}\nexpect: {case.expect} {case.file} {case.column} {case.rule}\n")
    return cases


if __name__ == "__main__":
    written = write_corpus(Path(sys.argv[1]))
    print(f"{len(written)} cases in {sys.argv[1]}")
