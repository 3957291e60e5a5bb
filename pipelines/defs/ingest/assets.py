"""Ingest: each night starts a working copy of the warehouse and loads the landing zone."""


import dagster as dg
import duckdb

from pipelines.defs.partitions import nightly
from pipelines.defs.resources import NightSettings
from pipelines.lib import send_release, warehouse
from pipelines.lib.intake import record_problems
from pipelines.lib.landing import load_landing_zone
from pipelines.lib.night_log import record_build_nights, record_night_start
from pipelines.lib.progress import Timer, stage
from pipelines.lib.run_identity import code_version, run_id
from pipelines.lib.sources import SOURCES
from pipelines.lib.validation import warm_up

RAW_KEYS = [dg.AssetKey(["raw", name]) for name in SOURCES]
BUILD_NIGHTS = dg.AssetKey(["ops", "build_nights"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(key, group_name="landing", description=f"`{key.path[-1]}` as it arrived")
        for key in RAW_KEYS
    ] + [dg.AssetSpec(BUILD_NIGHTS, group_name="landing",
                      description="the as_of nights this run builds")],
    partitions_def=nightly,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def landing_zone(context: dg.AssetExecutionContext, night: NightSettings):
    """Take the writer lock, copy the live warehouse to a working copy, load every source."""
    timer = Timer()
    warm_up()  # GX's import overlaps the reading; the validation check needs it next
    keys = context.partition_key_range
    first = nightly.time_window_for_partition_key(keys.start).start.date()
    as_of = nightly.time_window_for_partition_key(keys.end).start.date()
    warehouse.acquire(night.warehouse_path)
    # a run killed between its warehouse commit and its send files: release those files first
    for released in send_release.release_committed(night.warehouse_path, night.exports_path):
        stage("recover", f"send files a crashed run committed are now in {released}")
    copying = Timer()
    work = warehouse.start_night(night.warehouse_path)
    copied = copying.seconds
    this_run = run_id(as_of, night.landing_path)
    with duckdb.connect(str(work)) as con:
        record_night_start(con, as_of, this_run, code_version())
        record_build_nights(con, first, as_of)
        loaded, problems = load_landing_zone(con, night.landing_path)
        record_problems(con, as_of, this_run, problems, fresh=True)
    context.log.info(f"run_id {this_run}")
    files, read = sum(len(s.files) for s in loaded), sum(s.read for s in loaded)
    stage("ingest", f"{sum(s.rows for s in loaded):,} rows from {files} files "
                    f"({read} read, {files - read} unchanged) in {timer.seconds:.1f}s "
                    f"(working copy {copied:.1f}s)")
    yield dg.MaterializeResult(asset_key=BUILD_NIGHTS, metadata={"first": str(first),
                                                                 "last": str(as_of)})
    by_source = {s.name: s for s in loaded}
    for key in RAW_KEYS:
        source = by_source[key.path[-1]]
        file_problems = [p.describe() for p in problems if p.source == source.name]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={"rows": source.rows, "files": ", ".join(source.files) or "(absent)",
                      "files_read": source.read,
                      "file_problems": "\n".join(file_problems) or "none"},
        )
