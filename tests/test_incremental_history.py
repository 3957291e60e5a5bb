"""Engagement history is incremental: a night adds only the rows of files read since, and
equals a whole rebuild whatever the landing zone did (a new drop, a late drop that sorts
first, a removed file, a quarantine verdict that changed)."""

import csv
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.lib.sources import SOURCES
from tests.support.landing_zone import append_rows, write_landing_zone

NIGHTS = [date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
WEIGHTS = {"email_open": 1, "email_click": 3, "web_visit": 2, "form_submit": 10}
EVENTS = "select event_id, borrower_id, event_type from staging.stg_raw__engagement_events"
# 30 events on B2 so that one quarantined row stays under the 5 % quarantine share
FILLER = [{"event_id": f"F{i:02}", "borrower_id": "B2", "event_type": "email_open",
           "occurred_at": "2026-11-01T12:00:00Z"} for i in range(30)]


def drop(zone: Path, name: str, rows: list[dict]) -> None:
    """One daily drop of engagement events: `engagement_events/<name>.csv`."""
    columns = SOURCES["engagement_events"].column_names
    folder = zone / "engagement_events"
    folder.mkdir(exist_ok=True)
    with (folder / f"{name}.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: "" for c in columns} | row for row in rows)


def event(event_id: str, borrower: str, kind: str, at: str) -> dict:
    return {"event_id": event_id, "borrower_id": borrower, "event_type": kind,
            "occurred_at": at}


def run(zone: Path, warehouse: Path, as_of: date, *extra: str) -> None:
    assert main(["run", "--input", str(zone), "--warehouse", str(warehouse),
                 "--out", str(warehouse.parent / "exports"), "--as-of", as_of.isoformat(),
                 *extra]) == 0


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return sorted(con.execute(sql).fetchall())


def score(as_of: date, events: list[tuple[str, str]]) -> Decimal:
    """RULES.md: weight × 0.5^(days since / 30), summed, half-up to cents."""
    total = sum(WEIGHTS[kind] * 0.5 ** ((as_of - date.fromisoformat(day)).days / 30)
                for kind, day in events)
    return Decimal(repr(total)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def scores(warehouse: Path, as_of: date) -> dict[str, Decimal]:
    return dict(rows(warehouse, "select borrower_id, engagement_score from marts.loan_features "
                                f"where as_of_date = '{as_of}'"))


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Four nights on one warehouse; after each, what staging and the features hold."""
    base = tmp_path_factory.mktemp("history")
    zone = write_landing_zone(
        base / "zone", NIGHTS[0], borrowers=[{"borrower_id": "B1"}, {"borrower_id": "B2"}],
        loans=[{"loan_id": "L1", "borrower_id": "B1", "close_date": "2024-11-27"},
               {"loan_id": "L2", "borrower_id": "B2", "close_date": "2025-03-02"}])
    (zone / "engagement_events.csv").unlink()
    # B9 is not a borrower yet: its event is quarantined
    drop(zone, "2026-11-25", [event("E1", "B1", "email_click", "2026-11-20T10:00:00Z"),
                              event("E9", "B9", "form_submit", "2026-11-24T10:00:00Z"),
                              *FILLER])
    warehouse = base / "warehouse.duckdb"
    seen = {}
    run(zone, warehouse, NIGHTS[0])
    seen[0] = rows(warehouse, EVENTS), scores(warehouse, NIGHTS[0])
    # a new drop: a new event, and E1 delivered again (the first delivery counts)
    drop(zone, "2026-11-26", [event("E3", "B1", "web_visit", "2026-11-26T09:00:00Z"),
                              event("E1", "B2", "form_submit", "2026-11-26T09:30:00Z")])
    run(zone, warehouse, NIGHTS[1])
    seen[1] = rows(warehouse, EVENTS), scores(warehouse, NIGHTS[1])
    # a late drop that sorts first, delivering E3 before the 11-26 file did; and B9 arrives,
    # so its event leaves the quarantine
    drop(zone, "2026-11-24", [event("E3", "B1", "form_submit", "2026-11-23T09:00:00Z")])
    append_rows(zone, "borrowers", [{"borrower_id": "B9", "first_name": "Bo",
                                     "email": "bo@example.com", "phone": "+15555550109"}])
    run(zone, warehouse, NIGHTS[2])
    seen[2] = rows(warehouse, EVENTS), scores(warehouse, NIGHTS[2])
    # the first drop is withdrawn: E1's first delivery is now the 11-26 one
    (zone / "engagement_events" / "2026-11-25.csv").unlink()
    run(zone, warehouse, NIGHTS[3])
    seen[3] = rows(warehouse, EVENTS), scores(warehouse, NIGHTS[3])
    return zone, warehouse, seen


def test_a_new_drop_adds_its_events_and_a_redelivery_counts_once(nights):
    _, _, seen = nights
    fillers = [(f["event_id"], "B2", "email_open") for f in FILLER]
    assert seen[0][0] == sorted([("E1", "B1", "email_click"), *fillers])
    assert seen[1][0] == sorted([("E1", "B1", "email_click"), ("E3", "B1", "web_visit"),
                                 *fillers])
    assert seen[1][1]["B1"] == score(NIGHTS[1], [("email_click", "2026-11-20"),
                                                 ("web_visit", "2026-11-26")])
    assert seen[1][1]["B2"] == score(NIGHTS[1], [("email_open", "2026-11-01")] * 30)


def test_a_late_drop_and_a_lifted_quarantine_rebuild_the_history(nights):
    _, _, seen = nights
    events, night_scores = seen[2]
    assert ("E3", "B1", "form_submit") in events and ("E3", "B1", "web_visit") not in events
    assert ("E9", "B9", "form_submit") in events
    assert night_scores["B1"] == score(NIGHTS[2], [("email_click", "2026-11-20"),
                                                   ("form_submit", "2026-11-23")])


def test_a_removed_drop_takes_its_events_out(nights):
    _, _, seen = nights
    events, night_scores = seen[3]
    assert sorted(events) == [("E1", "B2", "form_submit"), ("E3", "B1", "form_submit")]
    assert night_scores["B2"] == score(NIGHTS[3], [("form_submit", "2026-11-26")])
    assert night_scores["B1"] == score(NIGHTS[3], [("form_submit", "2026-11-23")])


def test_the_incremental_history_equals_a_whole_build(nights, tmp_path):
    zone, warehouse, _ = nights
    fresh = tmp_path / "fresh.duckdb"
    run(zone, fresh, NIGHTS[3])
    columns = ("event_id, borrower_id, campaign_id, event_type, occurred_at, occurred_on, "
               "detail, _source_file, is_first_delivery")
    history = f"select {columns} from staging.stg_raw__engagement_deliveries"
    assert rows(fresh, history) == rows(warehouse, history)
    features = f"select * from marts.loan_features where as_of_date = '{NIGHTS[3]}'"
    assert rows(fresh, features) == rows(warehouse, features)
