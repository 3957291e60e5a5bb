"""The outreach reads people, loans and consent only for the borrowers it decides about (a step
due, or an engagement score on the officers' bar): reading every audience borrower instead
decides the same messages, byte for byte. And a night's audit log is appended whole or not at
all."""

import shutil
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from pipelines.cli import main
from pipelines.lib.outreach import night, store
from pipelines.lib.outreach.state import load_details

pytestmark = pytest.mark.slow

NIGHTS = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 24)]
TONIGHT = NIGHTS[-1]
TABLES = ["outreach.enrollments", "outreach.messages", "outreach.lo_alerts", "outreach.nights"]


def table(warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def before_tonights_outreach(tmp_path_factory):
    """A warehouse after three sample nights, with the third night's outreach taken out again:
    the drips of the first two leave open enrollments with no step due tonight."""
    base = tmp_path_factory.mktemp("reads")
    zone, warehouse = base / "zone", base / "warehouse.duckdb"
    assert main(["sample", "--loans", "400", "--seed", "3", "--as-of", NIGHTS[0].isoformat(),
                 "--out", str(zone)]) == 0
    for n in NIGHTS:
        assert main(["run", "--input", str(zone), "--warehouse", str(warehouse),
                     "--out", str(base / "exports"), "--as-of", n.isoformat()]) == 0
    with duckdb.connect(str(warehouse)) as con:
        for t in [*TABLES, "marts.campaign_metrics", "marts.campaign_message_reasons"]:
            con.execute(f"delete from {t} where as_of_date = ?", [TONIGHT])
    return warehouse


def test_reading_every_audience_borrower_decides_nothing_differently(
        before_tonights_outreach, tmp_path, monkeypatch):
    read: dict[str, set[str]] = {}
    audience: set[str] = set()

    def reader(name: str, bar: Decimal | None):
        def read_details(con, state, due, lo_alert_min_score):
            # bar -Infinity: every audience borrower is read, as if all cleared the bar
            load_details(con, state, due, lo_alert_min_score if bar is None else bar)
            read[name] = set(state.borrowers)
            audience.update(r["borrower_id"] for a in state.audiences.values() for r in a)
        return read_details

    outcomes = {}
    for name, bar in (("as_built", None), ("every_audience_borrower", Decimal("-Infinity"))):
        monkeypatch.setattr(night, "_read_details", reader(name, bar))
        copy = tmp_path / name / "warehouse.duckdb"
        copy.parent.mkdir()
        shutil.copy(before_tonights_outreach, copy)
        done = night.run_outreach(copy, TONIGHT, tmp_path / name / "exports", "run-3", "v1")
        files = {p.name: p.read_bytes() for p in sorted(done.staged.iterdir())}
        rows = {t: table(copy, f"select * from {t} order by all") for t in TABLES}
        outcomes[name] = (files, rows)
    assert outcomes["as_built"][1]["outreach.messages"], "the night considered no message"
    assert outcomes["as_built"] == outcomes["every_audience_borrower"]
    assert audience <= read["every_audience_borrower"]
    assert read["as_built"] < read["every_audience_borrower"], "the night read no fewer rows"


def test_a_night_failing_midway_through_its_audit_log_appends_nothing(
        before_tonights_outreach, tmp_path, monkeypatch):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(before_tonights_outreach, copy)
    counts = " union all ".join(f"select '{t}', count(*) from {t}" for t in TABLES)
    before = table(copy, counts)
    made = []

    def audit_record(*args):
        made.append(1)
        if len(made) == 5:  # two batches of two are already appended
            raise OSError("disk full")
        return real(*args)

    real = store.audit_record
    monkeypatch.setattr(store, "AUDIT_BATCH", 2)
    monkeypatch.setattr(store, "audit_record", audit_record)
    with pytest.raises(OSError, match="disk full"):
        night.run_outreach(copy, TONIGHT, tmp_path / "exports", "run-3", "v1")
    assert len(made) == 5
    assert table(copy, counts) == before
