"""Intake on a real DuckDB: every bad-input class is refused (or quarantined) by name."""

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.intake import validate_intake
from pipelines.lib.landing import load_landing_zone
from tests.support.landing_zone import write_landing_zone

AS_OF = date(2026, 11, 27)

GOOD = dict(
    borrowers=[{"borrower_id": "B1"}, {"borrower_id": "B2"}],
    loans=[
        {"loan_id": "L1", "borrower_id": "B1", "close_date": "2024-11-27",
         "first_payment_date": "2025-01-01"},
        {"loan_id": "L2", "borrower_id": "B2", "close_date": "2025-03-02",
         "first_payment_date": "2025-05-01"},
    ],
    market_rates=[{"rate_date": "2026-11-26", "product": "fixed_30", "rate": "6.25"}],
    hpi=[{"geo_level": "national", "geo_code": "US", "period_start": "2026-01-01",
          "index_value": "300"}],
)


def intake(zone: Path):
    with duckdb.connect() as con:
        loaded, problems = load_landing_zone(con, zone)
        if not problems:
            problems = validate_intake(con, AS_OF, "test-run")
        counts = {s.name: s.rows for s in loaded}
        return counts, problems


def zone_with(tmp_path: Path, **changes) -> Path:
    return write_landing_zone(tmp_path / "zone", AS_OF, **(GOOD | changes))


def only(problems, rule):
    found = [p for p in problems if p.rule.startswith(rule)]
    assert found, f"no {rule} problem in {[p.describe() for p in problems]}"
    return found[0]


def test_good_zone_has_no_problems(tmp_path):
    counts, problems = intake(zone_with(tmp_path))
    assert problems == []
    assert counts["loans"] == 2 and counts["borrowers"] == 2 and counts["census_tracts"] == 0


def test_missing_required_column_names_file_and_column(tmp_path):
    zone = zone_with(tmp_path)
    text = (zone / "loans.csv").read_text().replace("note_rate", "rate_pct", 1)
    (zone / "loans.csv").write_text(text)
    _, problems = intake(zone)
    p = only(problems, "column.present")
    assert p.fatal and p.column == "note_rate" and p.file.endswith("loans.csv")


def test_duplicate_loan_id_in_one_file(tmp_path):
    loans = GOOD["loans"] + [dict(GOOD["loans"][0])]
    _, problems = intake(zone_with(tmp_path, loans=loans))
    p = only(problems, "key.unique")
    assert p.fatal and p.column == "loan_id" and p.count == 2
    assert "line 2" in p.examples[0] and "line 4" in p.examples[1]


def test_loan_whose_borrower_does_not_exist(tmp_path):
    loans = GOOD["loans"] + [{"loan_id": "L3", "borrower_id": "B9", "close_date": "2025-01-01",
                              "first_payment_date": "2025-02-01"}]
    _, problems = intake(zone_with(tmp_path, loans=loans))
    p = only(problems, "foreign_key.borrowers")
    assert p.fatal and p.column == "borrower_id" and p.count == 1
    assert "'B9'" in p.examples[0]


def test_rate_given_as_a_fraction(tmp_path):
    loans = [GOOD["loans"][0] | {"note_rate": "0.0675"}, GOOD["loans"][1]]
    _, problems = intake(zone_with(tmp_path, loans=loans))
    p = only(problems, "rate_in_percent")
    assert p.fatal and p.column == "note_rate" and p.count == 1 and "'0.0675'" in p.examples[0]


@pytest.mark.parametrize("rate, ok", [("0.5", True), ("0.4999", False), ("19.999", True),
                                      ("20", False)])
def test_rate_bounds_are_half_open(tmp_path, rate, ok):
    rates = [{"rate_date": "2026-11-26", "product": "fixed_30", "rate": rate}]
    _, problems = intake(zone_with(tmp_path, market_rates=rates))
    assert (problems == []) is ok


def test_unparseable_date(tmp_path):
    loans = [GOOD["loans"][0] | {"close_date": "11/27/2024"}, GOOD["loans"][1]]
    _, problems = intake(zone_with(tmp_path, loans=loans))
    p = only(problems, "type.date")
    assert p.fatal and p.column == "close_date" and "'11/27/2024'" in p.examples[0]


def test_impossible_calendar_date(tmp_path):
    loans = [GOOD["loans"][0] | {"close_date": "2025-02-30"}, GOOD["loans"][1]]
    _, problems = intake(zone_with(tmp_path, loans=loans))
    assert only(problems, "type.date").count == 1


def test_empty_required_file(tmp_path):
    zone = zone_with(tmp_path)
    (zone / "loans.csv").write_bytes(b"")
    _, problems = intake(zone)
    p = only(problems, "file.not_empty")
    assert p.fatal and p.file.endswith("loans.csv")


def test_required_file_with_header_only(tmp_path):
    _, problems = intake(zone_with(tmp_path, loans=[]))
    assert only(problems, "file.has_rows").source == "loans"


def test_missing_required_file(tmp_path):
    zone = zone_with(tmp_path)
    (zone / "hpi.csv").unlink()
    _, problems = intake(zone)
    assert only(problems, "file.present").source == "hpi"


def test_bom_and_crlf_are_read(tmp_path):
    zone = zone_with(tmp_path)
    text = (zone / "loans.csv").read_text()
    (zone / "loans.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    counts, problems = intake(zone)
    assert problems == [] and counts["loans"] == 2


def test_latin1_file_is_refused(tmp_path):
    borrowers = [{"borrower_id": "B1", "last_name": "Peña"}, {"borrower_id": "B2"}]
    zone = zone_with(tmp_path, borrowers=borrowers)
    (zone / "borrowers.csv").write_bytes((zone / "borrowers.csv").read_text().encode("latin-1"))
    _, problems = intake(zone)
    p = only(problems, "file.utf8")
    assert p.fatal and p.file.endswith("borrowers.csv")


def test_wrong_delimiter_reads_as_missing_columns(tmp_path):
    zone = zone_with(tmp_path)
    (zone / "hpi.csv").write_text((zone / "hpi.csv").read_text().replace(",", ";"))
    _, problems = intake(zone)
    assert only(problems, "column.present").file.endswith("hpi.csv")


def test_row_with_wrong_number_of_fields(tmp_path):
    zone = zone_with(tmp_path)
    with (zone / "market_rates.csv").open("a") as f:
        f.write("2026-11-19,fixed_30,6.3,,,extra\n")
    _, problems = intake(zone)
    assert only(problems, "file.csv_format").file.endswith("market_rates.csv")


def test_column_names_are_case_insensitive_and_extra_columns_kept(tmp_path):
    zone = zone_with(tmp_path)
    lines = (zone / "hpi.csv").read_text().splitlines()
    lines[0] = lines[0].upper() + ",NOTE"
    lines[1] += ",hello"
    (zone / "hpi.csv").write_text("\n".join(lines) + "\n")
    with duckdb.connect() as con:
        _, problems = load_landing_zone(con, zone)
        assert problems == []
        assert con.execute("select note, geo_code from raw.hpi").fetchall() == [("hello", "US")]


def test_bad_engagement_row_is_quarantined_not_fatal(tmp_path):
    events = [{"event_id": f"E{i}", "borrower_id": "B1", "event_type": "email_open",
               "occurred_at": "2026-11-20T10:00:00Z"} for i in range(30)]
    events.append({"event_id": "E99", "borrower_id": "B404", "event_type": "email_open",
                   "occurred_at": "2026-11-20T10:00:00Z"})
    _, problems = intake(zone_with(tmp_path, engagement_events=events))
    p = only(problems, "foreign_key.borrowers")
    assert not p.fatal and p.count == 1 and p.source == "engagement_events"


def test_quarantine_over_the_share_is_fatal(tmp_path):
    events = [{"event_id": f"E{i}", "borrower_id": "B404", "event_type": "email_open",
               "occurred_at": "2026-11-20T10:00:00Z"} for i in range(3)]
    _, problems = intake(zone_with(tmp_path, engagement_events=events))
    p = only(problems, "foreign_key.borrowers")
    assert p.fatal and "quarantine share" in p.rule


def test_bad_consent_row_stops_the_run(tmp_path):
    prefs = [{"borrower_id": "B1", "channel": "sms", "action": "opt_out",
              "recorded_at": "2026-11-20T10:00:00Z"},
             {"borrower_id": "B1", "channel": "smoke_signal", "action": "opt_out",
              "recorded_at": "2026-11-20T10:00:00Z"}]
    _, problems = intake(zone_with(tmp_path, contact_preferences=prefs))
    p = only(problems, "allowed_values")
    assert p.fatal and p.column == "channel"


def test_same_event_id_with_different_content_is_quarantined(tmp_path):
    events = [{"event_id": f"E{i}", "borrower_id": "B1", "event_type": "email_open",
               "occurred_at": "2026-11-20T10:00:00Z"} for i in range(30)]
    events.append(events[0] | {"event_type": "email_click"})
    events.append(dict(events[1]))  # the same delivery twice is one event, not a problem
    _, problems = intake(zone_with(tmp_path, engagement_events=events))
    p = only(problems, "key.same_content")
    assert not p.fatal and p.count == 1
    assert len(problems) == 1


def test_personal_data_is_never_printed_in_examples(tmp_path):
    borrowers = [{"borrower_id": "B1", "email": "not-an-address"}, {"borrower_id": "B2"}]
    _, problems = intake(zone_with(tmp_path, borrowers=borrowers))
    p = only(problems, "format")
    assert p.column == "email" and "not-an-address" not in p.describe()
    assert "borrower_id=B1" in p.examples[0]


def test_folder_of_drops_last_file_wins_for_state_sources(tmp_path):
    zone = zone_with(tmp_path)
    drops = zone / "loans"
    drops.mkdir()
    (zone / "loans.csv").rename(drops / "2026-11-01.csv")
    header, first, _ = (drops / "2026-11-01.csv").read_text().splitlines()
    (drops / "2026-11-02.csv").write_text(header + "\n" + first.replace("7.000", "6.500") + "\n")
    with duckdb.connect() as con:
        _, problems = load_landing_zone(con, zone)
        assert problems == [] and validate_intake(con, AS_OF, "r") == []
        rows = con.execute("select _source_file, note_rate from raw.loans where loan_id = 'L1' "
                           "order by _source_file").fetchall()
    assert rows == [("loans/2026-11-01.csv", "7.000"), ("loans/2026-11-02.csv", "6.500")]


def test_funded_loan_needs_its_close_date(tmp_path):
    loans = [GOOD["loans"][0] | {"close_date": ""}, GOOD["loans"][1]]
    _, problems = intake(zone_with(tmp_path, loans=loans))
    assert only(problems, "funded_loan_has_date").column == "close_date"


def test_parquet_timestamps_meet_the_same_rules_as_csv(tmp_path):
    zone = zone_with(tmp_path, engagement_events=[
        {"event_id": "E1", "borrower_id": "B1", "event_type": "email_open",
         "occurred_at": "2026-11-20T10:00:00-05:00"}])
    with duckdb.connect() as con:
        con.execute(f"""copy (select event_id, borrower_id, event_type,
                                     cast(occurred_at as timestamptz) as occurred_at
                              from read_csv('{zone / "engagement_events.csv"}', all_varchar=true))
                        to '{zone / "engagement_events.parquet"}' (format parquet)""")
    (zone / "engagement_events.csv").unlink()
    with duckdb.connect() as con:
        _, problems = load_landing_zone(con, zone)
        assert problems == [] and validate_intake(con, AS_OF, "r") == []
        assert con.execute("select occurred_at from raw.engagement_events").fetchall() == [
            ("2026-11-20T15:00:00.000000Z",)]


def test_parquet_with_the_wrong_type_is_refused(tmp_path):
    zone = zone_with(tmp_path)
    with duckdb.connect() as con:
        con.execute(f"""copy (select * replace ('6.5%' as note_rate)
                              from read_csv('{zone / "loans.csv"}', all_varchar=true))
                        to '{zone / "loans.parquet"}' (format parquet)""")
    (zone / "loans.csv").unlink()
    _, problems = intake(zone)
    p = only(problems, "type.decimal")
    assert p.column == "note_rate" and p.count == 2 and p.file.endswith("loans.parquet")
