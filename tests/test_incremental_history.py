"""Staging histories are incremental: a night adds only the rows of files read since, and
equals a whole rebuild whatever the landing zone did (a new drop, a late drop that sorts
first, a removed file, a quarantine verdict that changed, a changed file)."""

import csv
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.lib.sources import SOURCES
from tests.support.landing_zone import DEFAULTS, append_rows, write_landing_zone
from tests.test_night import ZONE

NIGHTS = [date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
WEIGHTS = {"email_open": 1, "email_click": 3, "web_visit": 2, "form_submit": 10}
EVENTS = "select event_id, borrower_id, event_type from staging.stg_raw__engagement_events"
# 30 events on B2 so that one quarantined row stays under the 5 % quarantine share
FILLER = [{"event_id": f"F{i:02}", "borrower_id": "B2", "event_type": "email_open",
           "occurred_at": "2026-11-01T12:00:00Z"} for i in range(30)]


def drop(zone: Path, name: str, rows: list[dict], source: str = "engagement_events") -> None:
    """One daily drop: `<source>/<name>.csv`."""
    columns = SOURCES[source].column_names
    folder = zone / source
    folder.mkdir(exist_ok=True)
    with (folder / f"{name}.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: "" for c in columns} | DEFAULTS.get(source, {}) | row
                         for row in rows)


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


def first_deliveries(warehouse: Path) -> dict[str, str]:
    """Each event's first delivery: the file it came from."""
    return dict(rows(warehouse, "select event_id, _source_file from "
                                "staging.stg_raw__engagement_events_history "
                                "where is_first_delivery"))


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Four nights on one warehouse; after each, what staging and the features hold."""
    base = tmp_path_factory.mktemp("history")
    zone = write_landing_zone(base / "zone", NIGHTS[0], **ZONE)  # loans L1 of B1, L2 of B2
    (zone / "engagement_events.csv").unlink()
    e1 = event("E1", "B1", "email_click", "2026-11-20T10:00:00Z")
    e3 = event("E3", "B1", "web_visit", "2026-11-26T09:00:00Z")
    # B9 is not a borrower yet: its event is quarantined
    drop(zone, "2026-11-25", [e1, event("E9", "B9", "form_submit", "2026-11-24T10:00:00Z"),
                              *FILLER])
    warehouse = base / "warehouse.duckdb"
    seen = {}
    for night, change in enumerate([
        lambda: None,
        # a new drop: a new event, and E1 delivered again (the first delivery counts); and a
        # drop of loans that pays L1 down (the later file wins)
        lambda: (drop(zone, "2026-11-26", [e3, e1]),
                 drop(zone, "2026-11-27", [ZONE["loans"][0] | {"current_upb": "250000.00"}],
                      source="loans")),
        # a late drop that sorts first, delivering E3 before the 11-26 file did; and B9
        # arrives, so its event leaves the quarantine
        lambda: (drop(zone, "2026-11-24", [e3]),
                 append_rows(zone, "borrowers",
                             [DEFAULTS["borrowers"] | {"borrower_id": "B9"}])),
        # the first drop is withdrawn: E1's first delivery is now the 11-26 one
        lambda: (zone / "engagement_events" / "2026-11-25.csv").unlink(),
    ]):
        change()
        run(zone, warehouse, NIGHTS[night])
        seen[night] = (rows(warehouse, EVENTS), scores(warehouse, NIGHTS[night]),
                       first_deliveries(warehouse),
                       rows(warehouse, "select loan_id, current_upb from marts.loan_features "
                                       f"where as_of_date = '{NIGHTS[night]}'"))
    return zone, warehouse, seen


FILLERS = [(f["event_id"], "B2", "email_open") for f in FILLER]
B1_EVENTS = [("email_click", "2026-11-20"), ("web_visit", "2026-11-26")]


def test_a_new_drop_adds_its_events_and_a_redelivery_counts_once(nights):
    _, _, seen = nights
    assert seen[0][0] == sorted([("E1", "B1", "email_click"), *FILLERS])
    assert seen[1][0] == sorted([("E1", "B1", "email_click"), ("E3", "B1", "web_visit"),
                                 *FILLERS])
    assert seen[1][1]["B1"] == score(NIGHTS[1], B1_EVENTS)
    assert seen[1][1]["B2"] == score(NIGHTS[1], [("email_open", "2026-11-01")] * 30)
    assert seen[1][2]["E1"] == "engagement_events/2026-11-25.csv"


def test_a_drop_of_loans_replaces_its_loans_rows(nights):
    _, _, seen = nights
    l2 = dict(seen[0][3])["L2"]
    assert seen[1][3] == [("L1", Decimal("250000.00")), ("L2", l2)]
    assert seen[3][3] == [("L1", Decimal("250000.00")), ("L2", l2)]


def test_a_late_drop_and_a_lifted_quarantine_rebuild_the_history(nights):
    _, _, seen = nights
    events, night_scores, first, _ = seen[2]
    assert events == sorted([("E1", "B1", "email_click"), ("E3", "B1", "web_visit"),
                             ("E9", "B9", "form_submit"), *FILLERS])
    assert first["E3"] == "engagement_events/2026-11-24.csv"
    assert night_scores["B1"] == score(NIGHTS[2], B1_EVENTS)


def test_a_removed_drop_takes_its_events_out(nights):
    _, _, seen = nights
    events, night_scores, first, _ = seen[3]
    assert events == [("E1", "B1", "email_click"), ("E3", "B1", "web_visit")]
    assert first == {"E1": "engagement_events/2026-11-26.csv",
                     "E3": "engagement_events/2026-11-24.csv"}
    assert night_scores == {"B1": score(NIGHTS[3], B1_EVENTS), "B2": 0}


def test_the_incremental_history_equals_a_whole_build(nights, tmp_path):
    zone, warehouse, _ = nights
    fresh = tmp_path / "fresh.duckdb"
    run(zone, fresh, NIGHTS[3])
    columns = ("event_id, borrower_id, campaign_id, event_type, occurred_at, occurred_on, "
               "detail, _source_file, is_first_delivery")
    history = f"select {columns} from staging.stg_raw__engagement_events_history"
    assert rows(fresh, history) == rows(warehouse, history)
    features = f"select * from marts.loan_features where as_of_date = '{NIGHTS[3]}'"
    assert rows(fresh, features) == rows(warehouse, features)
    for state in ("loans", "borrowers"):
        current = (f"select * exclude (_row_id, _history_rows, _history_row_ids, "
                   f"_history_last_row) from staging.stg_raw__{state}_current")
        assert rows(fresh, current) == rows(warehouse, current)
