"""Blocking checks: the landing zone must keep every INPUTS.md rule before dbt builds on it."""


import dagster as dg
import duckdb

from pipelines.defs.ingest.assets import RAW_KEYS
from pipelines.defs.resources import NightSettings
from pipelines.lib.intake import validate_intake
from pipelines.lib.night_log import current_night
from pipelines.lib.paths import PREVIEW_FOLDER
from pipelines.lib.progress import Timer, stage
from pipelines.lib.validation_report import write_validation_report


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec("inputs_valid", asset=key, blocking=True,
                          description="every INPUTS.md rule holds (Great Expectations + keys)")
        for key in RAW_KEYS
    ],
)
def landing_zone_valid(context: dg.AssetCheckExecutionContext, night: NightSettings):
    timer = Timer()
    with duckdb.connect(str(night.working_path)) as con:
        as_of, this_run = current_night(con)
        problems = validate_intake(con, as_of, this_run)
    # a dry run leaves the exports as they were: its result goes beside its preview report
    reports = night.exports_path / PREVIEW_FOLDER if night.dry_run else night.exports_path
    report = write_validation_report(reports, as_of, this_run, problems)
    fatal = [p for p in problems if p.fatal]
    stage("validate", f"{len(fatal)} rule(s) broken, "
                      f"{sum(p.count for p in problems if not p.fatal)} row(s) quarantined "
                      f"in {timer.seconds:.1f}s; report {report}")
    for key in RAW_KEYS:
        mine = [p for p in problems if p.source == key.path[-1]]
        refused = [p.describe() for p in mine if p.fatal]
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="inputs_valid",
            passed=not refused,
            severity=dg.AssetCheckSeverity.ERROR,
            description="\n".join(refused) or "all rules hold",
            metadata={
                "refused": "\n".join(refused) or "none",
                "quarantined_rows": sum(p.count for p in mine if not p.fatal),
                "report": str(report),
            },
        )
