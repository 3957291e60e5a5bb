"""Send files leave only after the warehouse holds their audit rows: stage, commit, release.

A night writes its send files into a private staging folder beside `<out>/<as_of>/` and records
the SHA-256 of their manifest in `outreach.nights`, next to the audit chain's head. The live
warehouse is then swapped in (the commit point); only after that is the staging folder renamed
to `<out>/<as_of>/`. A crash before the commit leaves the warehouse as it was and a staging
folder nobody recorded: the next run deletes it and plans the night afresh. A crash after the
commit leaves a staging folder the warehouse recorded: the next run releases exactly that
folder (roll forward), so the files that go out are always the ones the audit log describes.
Published files are never replaced.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.audit_chain import Anchor
from pipelines.lib.send_files import MANIFEST, publish_dir


class SendFilesClash(RuntimeError):
    """Tonight's send files differ from the ones already published for the night."""


def manifest_sha256(folder: Path) -> str:
    return hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()


def record_manifest(con: duckdb.DuckDBPyConnection, as_of: date, staged: Path) -> None:
    """Tie the staged files to tonight's audit rows, in the working copy, before the commit."""
    con.execute("update outreach.nights set manifest_sha256 = ? where as_of_date = ?",
                [manifest_sha256(staged), as_of])


def refuse_to_replace(staged: Path, final: Path) -> None:
    """Before the commit: published files stay as they are, so a night whose files are out
    (and differ) is refused rather than recorded with other messages."""
    if final.exists() and manifest_sha256(staged) != _published_sha256(final):
        shutil.rmtree(staged, ignore_errors=True)
        raise SendFilesClash(
            f"send files for {final.name} are already published in {final} and tonight's "
            "differ; they may have been sent, so they are not replaced and nothing was "
            "recorded. Move that folder away to publish the night again.")


def _published_sha256(final: Path) -> str | None:
    return manifest_sha256(final) if (final / MANIFEST).is_file() else None


def _staged_night(folder: Path) -> date | None:
    try:
        return date.fromisoformat(folder.name[1:].split(".staging-", 1)[0])
    except ValueError:
        return None


def committed_manifests(warehouse: Path) -> dict[date, str]:
    """night -> the manifest SHA-256 the live warehouse recorded for it."""
    if not warehouse.exists():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not con.execute("select 1 from information_schema.columns where table_schema = "
                           "'outreach' and table_name = 'nights' and column_name = "
                           "'manifest_sha256'").fetchall():
            return {}
        return dict(con.execute("select as_of_date, manifest_sha256 from outreach.nights "
                                "where manifest_sha256 is not null").fetchall())


def release_committed(warehouse: Path, exports: Path) -> list[Path]:
    """Publish every staged folder the live warehouse recorded; delete the others (a crashed
    run's, which hold personal data). Returns the folders published. Run under the writer lock."""
    if not exports.is_dir():
        return []
    committed = committed_manifests(warehouse)
    released = []
    for staged in sorted(exports.glob(".*.staging-*")):
        night = _staged_night(staged)
        recorded = committed.get(night) if night else None
        if (recorded is not None and (staged / MANIFEST).is_file()
                and manifest_sha256(staged) == recorded):
            final = exports / night.isoformat()
            if _published_sha256(final) not in (None, recorded):
                raise SendFilesClash(f"{final} holds send files the warehouse did not record "
                                     f"for {night}; the recorded ones wait in {staged}")
            publish_dir(staged, final)
            released.append(final)
        else:
            shutil.rmtree(staged, ignore_errors=True)
    return released


def manifest_anchors(exports: Path) -> list[Anchor]:
    """The audit chain's heads the published manifests carry: anchors kept outside the
    warehouse, so deleting a whole night from it (records and `outreach.nights` row) shows."""
    anchors = []
    for path in sorted(exports.glob("*/" + MANIFEST)) if exports.is_dir() else []:
        try:
            head = json.loads(path.read_text()).get("audit_chain")
        except (OSError, ValueError):
            continue
        if head:
            anchors.append(Anchor(head["records"], head["head"], f"the manifest {path}"))
    return anchors
