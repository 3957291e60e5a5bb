"""Run one night headless: the same Dagster assets, materialized in this process."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from pipelines.lib import warehouse
from pipelines.lib.progress import Timer, stage

# Dagster's console logging stays quiet; our progress lines and the error summary tell the story.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass(frozen=True)
class NightOutcome:
    ok: bool
    errors: list[str]


@cache
def _definitions():
    """Loaded once per process: a simulation or a backfill loop pays for it once."""
    from pipelines.definitions import defs

    return defs()


def _materialize(as_of: date, first_night: date | None, night, target: str):
    import dagster as dg

    from pipelines.defs.resources import dbt_resource

    definitions = _definitions()
    range_tags = {} if first_night is None else {
        "dagster/asset_partition_range_start": first_night.isoformat(),
        "dagster/asset_partition_range_end": as_of.isoformat(),
    }
    # dbt's progress goes to its log file (dbt_project/logs); ours goes to stderr.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        return dg.materialize(
            assets=[*definitions.assets, *definitions.asset_checks],
            resources={**definitions.resources, "night": night, "dbt": dbt_resource(target)},
            partition_key=None if first_night else as_of.isoformat(),
            tags=range_tags,
            run_config=QUIET,
            raise_on_error=False,
        )


def _errors(result) -> list[str]:
    """What stopped the night: failed blocking checks first, else the failed steps."""
    failed_checks = [
        f"{e.asset_key.to_user_string()}: {e.description}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.description
    ]
    if failed_checks:
        return list(dict.fromkeys(failed_checks))
    failed = [f"{event.step_key}: {_root_cause(event.event_specific_data.error)}"
              for event in result.all_events if event.is_step_failure]
    # A step whose upstream asset was not materialized is skipped, not failed; the night did
    # not happen all the same.
    return failed or [f"{event.step_key}: skipped, as an asset it needs was not materialized"
                      for event in result.all_events if event.is_step_skipped]


def _root_cause(error) -> str:
    """The innermost error Dagster wrapped, which is the one that says what went wrong."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def run_night(
    as_of: date, landing: Path, warehouse_path: Path, exports: Path, *,
    first_night: date | None = None, dry_run: bool = False, target: str = "duckdb",
) -> NightOutcome:
    """Materialize the nightly job for as_of, or for every night first_night..as_of. `target`
    is the dbt target the transform runs on (profiles.yml): `duckdb`, or `spark`."""
    timer = Timer()
    if not landing.is_dir():
        raise FileNotFoundError(f"landing zone {landing} is not a folder")
    warehouse.acquire(warehouse_path)  # refuse at once, before the slow imports
    # dbt's profile reads the working copy's path; set before the dbt project is parsed so
    # that each night's `dbt build` reuses the parse.
    os.environ["XSELL_WAREHOUSE"] = str(warehouse.working_path(warehouse_path.resolve()))
    try:
        from pipelines.defs.resources import NightSettings

        night = NightSettings(warehouse=str(warehouse_path), landing=str(landing),
                              exports=str(exports), dry_run=dry_run)
        stage("start", f"as_of {as_of} input {landing} warehouse {warehouse_path}"
                       + ("" if target == "duckdb" else f" target {target}"))
        result = _materialize(as_of, first_night, night, target)
        errors = _errors(result)
        if result.success and not errors:
            stage("done", f"night {as_of} finished in {timer.seconds:.1f}s")
            return NightOutcome(True, [])
        return NightOutcome(False, errors or ["the run failed; see the log above"])
    finally:
        warehouse.abandon_night(warehouse_path.resolve())
        warehouse.release(warehouse_path)
