"""Publish: swap tonight's working copy in as the live warehouse, then release the send files.

The warehouse commit comes first, so no send file is ever out without its audit rows in the live
warehouse; the files follow it (lib/send_release.py says why and how a crash in between ends).
"""


import dagster as dg
import duckdb

from pipelines.defs.outreach.assets import outreach_decisions
from pipelines.defs.partitions import nightly
from pipelines.defs.resources import NightSettings
from pipelines.defs.transform.assets import xsell_dbt_models
from pipelines.lib import send_release, warehouse
from pipelines.lib.night_log import finish_night
from pipelines.lib.progress import Timer, stage


@dg.asset(
    deps=[*xsell_dbt_models.keys, outreach_decisions],
    partitions_def=nightly,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="publish",
)
def published_night(context: dg.AssetExecutionContext, night: NightSettings) -> None:
    """Readers see the whole night or none of it: one atomic rename of the warehouse file."""
    timer = Timer()
    with duckdb.connect(str(night.working_path)) as con:
        finish_night(con)
    if night.dry_run:
        warehouse.abandon_night(night.warehouse_path)
        stage("publish", "dry run: the working copy was discarded; nothing changed")
    else:
        parts = warehouse.publish_night(night.warehouse_path)
        stage("publish", f"warehouse {night.warehouse_path} now holds the night, "
                         f"in {timer.seconds:.1f}s ("
                         + ", ".join(f"{k} {v:.1f}s" for k, v in parts.items()) + ")")


@dg.asset(
    deps=[published_night],
    partitions_def=nightly,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="publish",
)
def send_files(context: dg.AssetExecutionContext, night: NightSettings) -> None:
    """`<out>/<as_of>/` appears whole, once the live warehouse records it: the staged folder
    whose manifest the warehouse holds is renamed into place. Then the writer lock is freed."""
    try:
        released = [] if night.dry_run else send_release.release_committed(
            night.warehouse_path, night.exports_path)
        stage("export", "send files in " + ", ".join(str(p) for p in released)
              if released else "no new send files tonight")
    finally:
        warehouse.release(night.warehouse_path)
