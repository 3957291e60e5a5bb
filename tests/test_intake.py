"""Intake on a real DuckDB: every bad-input class is refused (or quarantined) by name."""

import csv
import os
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.intake import record_problems, validate_intake
from pipelines.lib.landing import load_landing_zone
from pipelines.lib.sources import SOURCES
from tests.support.landing_zone import DEFAULTS, write_landing_zone

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


# --- incremental nights: a file read and validated before is neither re-read nor re-judged


def night(con, zone: Path):
    """One night's intake on a warehouse that persists between calls, as the ingest asset and
    its check run it."""
    loaded, problems = load_landing_zone(con, zone)
    record_problems(con, AS_OF, "test-run", problems, fresh=True)
    if not problems:
        problems = validate_intake(con, AS_OF, "test-run")
    return {s.name: s.read for s in loaded}, problems


def raw(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_an_unchanged_zone_reads_no_file_again(tmp_path):
    zone = zone_with(tmp_path)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        read, problems = night(con, zone)
        assert problems == [] and read["loans"] == 1 and read["census_tracts"] == 1
        before = raw(con, "select loan_id, _row_id, _loaded_at from raw.loans order by 1")
        read, problems = night(con, zone)
        assert problems == [] and set(read.values()) == {0}
        # the same rows, loaded at the same instant: kept, not read again
        assert raw(con, "select loan_id, _row_id, _loaded_at from raw.loans order by 1") == before


def test_a_changed_file_is_read_again_even_with_its_size_and_mtime(tmp_path):
    zone = zone_with(tmp_path)
    path = zone / "loans.csv"
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        night(con, zone)
        stat = path.stat()
        path.write_text(path.read_text().replace("7.000", "6.500"))  # same length
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert path.stat().st_size == stat.st_size
        read, problems = night(con, zone)
        assert problems == [] and read["loans"] == 1 and read["borrowers"] == 0
        assert raw(con, "select distinct note_rate from raw.loans") == [("6.500",)]
        assert raw(con, "select count(*) from raw.loans") == [(2,)]


def test_a_new_drop_adds_rows_and_a_removed_drop_takes_its_rows_away(tmp_path):
    zone = zone_with(tmp_path)
    drops = zone / "engagement_events"
    drops.mkdir()
    event = {"borrower_id": "B1", "event_type": "email_open", "occurred_at": "2026-11-20T10:00Z"}
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        write_csv_rows(drops / "2026-11-25.csv", [event | {"event_id": "E1"}])
        night(con, zone)
        write_csv_rows(drops / "2026-11-26.csv", [event | {"event_id": "E2"}])
        read, problems = night(con, zone)
        assert problems == [] and read["engagement_events"] == 1
        assert raw(con, "select event_id, _source_file, _row_id % 1000000000 from "
                        "raw.engagement_events order by 1") == [
            ("E1", "engagement_events/2026-11-25.csv", 1),
            ("E2", "engagement_events/2026-11-26.csv", 1)]
        (drops / "2026-11-25.csv").unlink()
        read, problems = night(con, zone)
        assert problems == [] and read["engagement_events"] == 0
        assert raw(con, "select event_id from raw.engagement_events") == [("E2",)]


def test_a_bad_row_in_a_new_drop_is_caught(tmp_path):
    zone = zone_with(tmp_path)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        night(con, zone)
        (zone / "loans").mkdir()
        write_csv_rows(zone / "loans" / "2026-11-28.csv", [
            GOOD["loans"][0] | {"note_rate": "0.065"}], source="loans")
        read, problems = night(con, zone)
        p = only(problems, "rate_in_percent")
        assert read["loans"] == 1 and p.fatal and p.count == 1
        assert p.file == "loans/2026-11-28.csv" and "line 2" in p.examples[0]


def test_quarantined_rows_stay_quarantined_while_their_file_is_unchanged(tmp_path):
    events = [{"event_id": f"E{i}", "borrower_id": "B1", "event_type": "email_open",
               "occurred_at": "2026-11-20T10:00:00Z"} for i in range(60)]
    events[4]["event_type"] = "carrier_pigeon"
    events.append(events[0] | {"event_type": "email_click"})  # E0 again, other content
    zone = zone_with(tmp_path, engagement_events=events)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        _, first = night(con, zone)
        quarantined = raw(con, "select rule, row_id from validation.quarantine order by 2")
        assert quarantined == [("allowed_values", 5), ("key.same_content", 61)]
        (zone / "loans").mkdir()  # something else arrives; the events are kept
        write_csv_rows(zone / "loans" / "2026-11-28.csv", [GOOD["loans"][0]], source="loans")
        read, second = night(con, zone)
        assert read["engagement_events"] == 0
        assert raw(con, "select rule, row_id from validation.quarantine order by 2") == \
            quarantined
        assert {(p.rule, p.count, p.fatal, p.examples) for p in second} == \
            {(p.rule, p.count, p.fatal, p.examples) for p in first}


def test_a_new_drop_clashing_with_an_old_event_is_quarantined(tmp_path):
    events = [{"event_id": f"E{i}", "borrower_id": "B1", "event_type": "email_open",
               "occurred_at": "2026-11-20T10:00:00Z"} for i in range(30)]
    zone = zone_with(tmp_path, engagement_events=events)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        night(con, zone)
        (zone / "engagement_events").mkdir()
        write_csv_rows(zone / "engagement_events" / "2026-11-28.csv",
                       [events[3] | {"event_type": "email_click"}, events[4]])
        _, problems = night(con, zone)
        p = only(problems, "key.same_content")
        assert not p.fatal and p.count == 1 and p.file == "engagement_events/2026-11-28.csv"


def test_a_quarantined_orphan_is_released_once_its_borrower_arrives(tmp_path):
    events = [{"event_id": f"E{i}", "borrower_id": "B1", "event_type": "email_open",
               "occurred_at": "2026-11-20T10:00:00Z"} for i in range(30)]
    events.append(events[0] | {"event_id": "E99", "borrower_id": "B3"})
    zone = zone_with(tmp_path, engagement_events=events)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        _, problems = night(con, zone)
        assert only(problems, "foreign_key.borrowers").count == 1
        (zone / "borrowers").mkdir()
        write_csv_rows(zone / "borrowers" / "2026-11-28.csv", [{"borrower_id": "B3"}],
                       source="borrowers")
        read, problems = night(con, zone)
        assert read == read | {"engagement_events": 0, "borrowers": 1} and problems == []
        assert raw(con, "select count(*) from validation.quarantine") == [(0,)]


def test_a_parent_losing_a_file_rejudges_every_reference(tmp_path):
    zone = zone_with(tmp_path)
    (zone / "borrowers").mkdir()
    (zone / "borrowers.csv").rename(zone / "borrowers" / "2026-11-01.csv")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert night(con, zone)[1] == []
        header, b1, b2 = (zone / "borrowers" / "2026-11-01.csv").read_text().splitlines()
        (zone / "borrowers" / "2026-11-01.csv").write_text(f"{header}\n{b1}\n")
        (zone / "borrowers" / "2026-11-02.csv").write_text(f"{header}\n{b1}\n")
        # B2's only row left with the changed file, and loans.csv did not change
        read, problems = night(con, zone)
        p = only(problems, "foreign_key.borrowers")
        assert read["loans"] == 0 and p.fatal and p.count == 1 and "'B2'" in p.examples[0]


def test_a_refused_night_leaves_the_files_unjudged(tmp_path):
    zone = zone_with(tmp_path)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        night(con, zone)
        (zone / "loans").mkdir()
        write_csv_rows(zone / "loans" / "2026-11-28.csv", [GOOD["loans"][0] | {"term_months": "9"}],
                       source="loans")
        assert only(night(con, zone)[1], "range").fatal
        # a refused night publishes nothing; here, on the same file, the drop is still unjudged
        read, problems = night(con, zone)
        assert read["loans"] == 1 and only(problems, "range").fatal


def test_new_intake_code_reads_every_file_again(tmp_path):
    zone = zone_with(tmp_path)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        night(con, zone)
        con.execute("update ops.landing_files set intake_version = 'older code'")
        read, problems = night(con, zone)
        assert problems == [] and read["loans"] == 1 and read["borrowers"] == 1


def write_csv_rows(path: Path, rows: list[dict], source: str = "engagement_events") -> None:
    columns = list(SOURCES[source].column_names)
    defaults = {c: "" for c in columns} | DEFAULTS.get(source, {})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(defaults | row for row in rows)


def test_rules_hold_across_columns_of_very_different_sizes(tmp_path):
    """GX gets one frame per size class of distinct values: 10,000 e-mail addresses and two
    states are judged in separate frames, and a broken rule in either is still found."""
    borrowers = [{"borrower_id": f"B{i}", "email": f"b{i}@example.com",
                  "mailing_state": "TX" if i % 2 else "CA"} for i in range(1, 10_001)]
    borrowers[4_999]["email"] = "b5000.example.com"  # line 5001: no @
    borrowers[6]["mailing_state"] = borrowers[7_000]["mailing_state"] = "ZZ"
    _, problems = intake(zone_with(tmp_path, borrowers=borrowers))
    email = only(problems, "format")
    assert (email.column, email.count, email.fatal) == ("email", 1, True)
    assert email.examples == ("borrowers.csv line 5001 (borrower_id=B5000): "
                              "<hidden: personal data>",)
    state = only(problems, "allowed_values")
    assert (state.column, state.count) == ("mailing_state", 2)
    assert [e.split(" (")[0] for e in state.examples] == ["borrowers.csv line 8",
                                                        "borrowers.csv line 7002"]
    assert len(problems) == 2
