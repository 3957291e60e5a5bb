"""Outreach: tonight's messages decided, recorded and checked, and the send files staged."""

import dagster as dg
import duckdb

from pipelines.defs.partitions import nightly
from pipelines.defs.resources import NightSettings
from pipelines.defs.transform.assets import xsell_dbt_models
from pipelines.lib import send_release
from pipelines.lib.night_log import current_night, record_staged_export
from pipelines.lib.outreach.checks import CHECKS
from pipelines.lib.outreach.night import run_outreach
from pipelines.lib.progress import Timer, stage
from pipelines.lib.run_identity import code_version

AUDIENCE_KEYS = [k for k in xsell_dbt_models.keys if k.path[-1].startswith("audience_")]


def _render_gate(result) -> str:
    """The gate, render and content-check step on its own: its messages and their rate."""
    plan = result.plan
    if not plan or not plan.considered or plan.render_gate_s <= 0:
        return ""
    n = len(plan.considered)
    return (f"; render+gate {n} messages over {plan.render_gate_s:.2f}s "
            f"({n / plan.render_gate_s:,.0f}/s)")


@dg.asset(
    deps=AUDIENCE_KEYS,
    partitions_def=nightly,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="outreach",
    check_specs=[dg.AssetCheckSpec(name, asset="outreach_decisions", blocking=True)
                 for name in CHECKS],
)
def outreach_decisions(context: dg.AssetExecutionContext, night: NightSettings):
    """Enroll, decide every due message, append the audit log, stage the send files."""
    timer = Timer()
    with duckdb.connect(str(night.working_path), read_only=True) as con:
        as_of, run_id = current_night(con)
    result = run_outreach(night.working_path, as_of, night.exports_path, run_id,
                          code_version(), dry_run=night.dry_run)
    stage("outreach", f"{result.notice} in {timer.seconds:.1f}s{_render_gate(result)}")
    holds = result.plan.holds if result.plan else {}
    if holds:
        stage("holds", ", ".join(f"{c} held by {r}" for c, r in sorted(holds.items())))
    status, notice, staged = result.status, result.notice, result.staged
    del result  # the plan (every message, rendered) is let go before the checks read the log
    with duckdb.connect(str(night.working_path), read_only=True) as con:
        for name, check in CHECKS.items():
            problems = check(con, as_of) if status == "done" else []
            yield dg.AssetCheckResult(
                check_name=name, passed=not problems, severity=dg.AssetCheckSeverity.ERROR,
                description="\n".join(problems[:10]) or "holds",
                metadata={"problems": len(problems)})
    with duckdb.connect(str(night.working_path)) as con:
        record_staged_export(con, staged)
        if staged is not None:  # the files' manifest goes into tonight's commit
            send_release.refuse_to_replace(staged, night.exports_path / as_of.isoformat())
            send_release.record_manifest(con, as_of, staged)
    yield dg.MaterializeResult(
        metadata={"status": status, "notice": notice, "holds": str(holds)},
    )
