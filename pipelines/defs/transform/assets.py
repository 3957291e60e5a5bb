"""Transform: dbt builds features and audiences for the nights in the partition range."""


import json
import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.defs.partitions import nightly
from pipelines.defs.resources import NightSettings, dbt_resource
from pipelines.defs.transform.project import xsell_dbt
from pipelines.lib import spark_target
from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.dbt_args import dbt_build_args, dbt_vars
from pipelines.lib.dbt_manifest import prune_run_targets
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
    # Each dbt invocation leaves a target folder; keep the last two weeks' for debugging.
    prune_run_targets(xsell_dbt.manifest_path.parent)
    # profiles.yml reads the warehouse from XSELL_WAREHOUSE: point it at tonight's working copy.
    previous = os.environ.get("XSELL_WAREHOUSE")
    os.environ["XSELL_WAREHOUSE"] = str(night.working_path)
    try:
        if dbt.target == "spark":
            yield from _build_on_spark(context, dbt, night)
        else:
            yield from dbt.cli(
                dbt_build_args(load_campaigns()), context=context
            ).stream()
    finally:
        if previous is None:
            os.environ.pop("XSELL_WAREHOUSE", None)
        else:
            os.environ["XSELL_WAREHOUSE"] = previous
    stage("transform", f"dbt build on {dbt.target} for {first} .. {last} in "
                       f"{timer.seconds:.1f}s")


def _build_on_spark(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                    night: NightSettings):
    """The same `dbt build` on Spark, from Parquet copies of tonight's sources. The DuckDB
    working copy then gets what the later stages read there: the staging views (over raw,
    which stays in DuckDB) and each mart as a view over the Parquet Spark wrote."""
    timer = Timer()
    home = spark_target.spark_home(night.warehouse_path)
    spark_target.export_sources(night.working_path, home / spark_target.SOURCES)
    copied = timer.seconds
    with spark_target.spark_env(home):
        yield from dbt.cli(dbt_build_args(load_campaigns()), context=context,
                           target_path=home / "dbt-target").stream()
    built = timer.seconds
    variables = json.dumps(dbt_vars(load_campaigns()), sort_keys=True)
    dbt_resource("duckdb").cli(["run", "--select", "staging", "--vars", variables]).wait()
    spark_target.expose_marts(night.working_path, home)
    stage("spark", f"sources to Parquet {copied:.1f}s, dbt build on Spark "
                   f"{built - copied:.1f}s, DuckDB views {timer.seconds - built:.1f}s")
