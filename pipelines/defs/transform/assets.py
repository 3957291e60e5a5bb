"""Transform: dbt builds features and audiences for the nights in the partition range."""


import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.defs.partitions import nightly
from pipelines.defs.resources import NightSettings
from pipelines.defs.transform.project import xsell_dbt
from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.dbt_args import dbt_build_args
from pipelines.lib.progress import Timer, stage


@dbt_assets(
    manifest=xsell_dbt.manifest_path,
    project=xsell_dbt,
    partitions_def=nightly,
    # A backfill builds its whole range in one dbt invocation: the models take min/max dates.
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def xsell_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                     night: NightSettings):
    timer = Timer()
    keys = context.partition_key_range
    first = nightly.time_window_for_partition_key(keys.start).start.date()
    last = nightly.time_window_for_partition_key(keys.end).start.date()
    # profiles.yml reads the warehouse from XSELL_WAREHOUSE: point it at tonight's working copy.
    previous = os.environ.get("XSELL_WAREHOUSE")
    os.environ["XSELL_WAREHOUSE"] = str(night.working_path)
    try:
        yield from dbt.cli(
            dbt_build_args(load_campaigns()), context=context
        ).stream()
    finally:
        if previous is None:
            os.environ.pop("XSELL_WAREHOUSE", None)
        else:
            os.environ["XSELL_WAREHOUSE"] = previous
    stage("transform", f"dbt build for {first} .. {last} in {timer.seconds:.1f}s")
