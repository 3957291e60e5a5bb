"""The commit protocol between the warehouse and the send files (pipelines/lib/send_release.py):
files leave only once the live warehouse records their manifest, a crashed run's recorded files
are released by the next, unrecorded ones are deleted, published ones are never replaced."""

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.outreach.state import ensure_schema
from pipelines.lib.send_files import staging_dir, write_send_files
from pipelines.lib.send_release import (
    SendFilesClash,
    manifest_anchors,
    manifest_sha256,
    record_manifest,
    refuse_to_replace,
    release_committed,
)

NIGHT = date(2026, 9, 10)
HEAD = {"records": 3, "head": "ab" * 32}


def stage(out: Path, body: str, night: date = NIGHT) -> Path:
    staged = staging_dir(out, night)
    sms = {"message_id": "m1", "borrower_id": "B1", "campaign_id": "heloc", "step": 0,
           "scheduled_for": "2026-09-11T10:00:00-05:00", "to_phone": "+15555550100",
           "body_text": body}
    write_send_files(staged, {"sms.csv": [sms]}, run_id="r", code_version="v",
                     template_hashes={}, audit_chain=HEAD)
    return staged


def commit(warehouse: Path, staged: Path | None, night: date = NIGHT) -> None:
    """What a night's commit leaves in the live warehouse: its outreach.nights row."""
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
        con.execute("insert into outreach.nights (as_of_date, run_id, chain_records, "
                    "chain_head) values (?, 'r', ?, ?)", [night, HEAD["records"], HEAD["head"]])
        if staged is not None:
            record_manifest(con, night, staged)


def test_recorded_files_are_released_and_unrecorded_ones_deleted(tmp_path):
    out, warehouse = tmp_path / "out", tmp_path / "w.duckdb"
    recorded = stage(out, "hello")
    stray = stage(out, "a crashed run's plan")  # staged, never committed
    other_night = stage(out, "an older crash", date(2026, 9, 9))
    commit(warehouse, recorded)
    expected = manifest_sha256(recorded)

    assert release_committed(warehouse, out) == [out / "2026-09-10"]
    assert sorted(p.name for p in out.iterdir()) == ["2026-09-10"]
    assert manifest_sha256(out / "2026-09-10") == expected
    assert not stray.exists() and not other_night.exists()
    assert release_committed(warehouse, out) == []  # nothing more to do


def test_before_any_commit_every_staged_folder_is_deleted(tmp_path):
    out = tmp_path / "out"
    stage(out, "hello")
    assert release_committed(tmp_path / "no-warehouse-yet.duckdb", out) == []
    assert list(out.iterdir()) == []


def test_published_files_are_not_replaced(tmp_path):
    out = tmp_path / "out"
    first = stage(out, "hello")
    final = out / NIGHT.isoformat()
    first.rename(final)
    same = stage(out, "hello")
    refuse_to_replace(same, final)  # the same bytes: fine, publishing it changes nothing
    other = stage(out, "goodbye")
    with pytest.raises(SendFilesClash, match="already published .* not replaced"):
        refuse_to_replace(other, final)
    assert not other.exists()  # its personal data does not linger
    assert (final / "sms.csv").read_text().endswith("hello\n")


def test_the_manifest_carries_the_chain_head_as_an_anchor(tmp_path):
    out = tmp_path / "out"
    stage(out, "hello").rename(out / NIGHT.isoformat())
    (anchor,) = manifest_anchors(out)
    assert (anchor.records, anchor.head) == (3, HEAD["head"])
    assert anchor.where.endswith("2026-09-10/manifest.json")
    assert manifest_anchors(tmp_path / "nothing") == []
