"""The nightly job and its schedule; one run writes the warehouse at a time."""

import dagster as dg

from pipelines.defs.partitions import nightly

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    partitions_def=nightly,
    # One process for the whole night: the writer lock and the working copy belong to it.
    executor_def=dg.in_process_executor,
    tags={"dagster/concurrency_key": "xsell_warehouse"},
)

# The partition for as_of D runs after D has ended, at 02:00 UTC on D + 1.
nightly_schedule = dg.build_schedule_from_partitioned_job(nightly_job, hour_of_day=2)


@dg.definitions
def schedules() -> dg.Definitions:
    return dg.Definitions(jobs=[nightly_job], schedules=[nightly_schedule])
