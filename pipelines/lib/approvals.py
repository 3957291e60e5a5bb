"""`xsell approve`: release a campaign batch held by a guard, recorded with who and when."""

from __future__ import annotations

import getpass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipelines.lib import warehouse as warehouse_file
from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.outreach.state import ensure_schema


def approve(warehouse: Path, campaign_id: str, held_on: date, by: str | None,
            guard: str = "volume.guard") -> str:
    if campaign_id not in load_campaigns():
        raise SystemExit(f"xsell approve: no campaign {campaign_id!r}")
    who = by or getpass.getuser()
    when = datetime.now(UTC).isoformat(timespec="seconds")
    # The same publish protocol as a night: readers never see a half-written file.
    with warehouse_file.writer_lock(warehouse, "xsell approve"):
        work = warehouse_file.start_night(warehouse)
        try:
            with duckdb.connect(str(work)) as con:
                ensure_schema(con)
                con.execute("insert into outreach.approvals values (?, ?, ?, ?, ?)",
                            [campaign_id, held_on, guard, who, when])
            warehouse_file.publish_night(warehouse)
        finally:
            warehouse_file.abandon_night(warehouse)
    return (f"approved {campaign_id} ({guard}) held on {held_on}, by {who} at {when}; the "
            "next night sends it, gated again")
