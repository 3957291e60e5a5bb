"""Publish: swap tonight's working copy in as the live warehouse, then release the lock."""


import dagster as dg
import duckdb

from pipelines.defs.outreach.assets import send_files
from pipelines.defs.partitions import nightly
from pipelines.defs.resources import NightSettings
from pipelines.defs.transform.assets import xsell_dbt_models
from pipelines.lib import warehouse
from pipelines.lib.night_log import finish_night
from pipelines.lib.progress import stage


@dg.asset(
    deps=[*xsell_dbt_models.keys, send_files],
    partitions_def=nightly,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="publish",
)
def published_night(context: dg.AssetExecutionContext, night: NightSettings) -> None:
    """Readers see the whole night or none of it: one atomic rename of the warehouse file."""
    with duckdb.connect(str(night.working_path)) as con:
        finish_night(con)
    if night.dry_run:
        warehouse.abandon_night(night.warehouse_path)
        stage("publish", "dry run: the working copy was discarded; nothing changed")
    else:
        warehouse.publish_night(night.warehouse_path)
        stage("publish", f"warehouse {night.warehouse_path} now holds the night")
    warehouse.release(night.warehouse_path)
