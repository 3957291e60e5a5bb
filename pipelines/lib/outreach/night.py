"""A night's outreach from start to files: plan, record, and stage the send files."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

import duckdb
import yaml

from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.content_rules import ContentRules
from pipelines.lib.enrollment import DueStep
from pipelines.lib.metrics import campaign_metrics_rows, store_campaign_metrics
from pipelines.lib.outreach.exports import send_file_rows, template_hashes
from pipelines.lib.outreach.plan import NightPlan, NightPlanner
from pipelines.lib.outreach.report import write_report
from pipelines.lib.outreach.state import (
    NightState,
    load_details,
    load_night_state,
    outreach_nights,
)
from pipelines.lib.outreach.store import night_head, store_plan
from pipelines.lib.paths import ASSETS_DIR, PREVIEW_FOLDER, templates_dir
from pipelines.lib.register import load_register
from pipelines.lib.rendering import Renderer
from pipelines.lib.send_files import staging_dir, write_send_files


@dataclass(frozen=True)
class OutreachResult:
    status: str  # done | skipped
    notice: str
    staged: Path | None = None
    plan: NightPlan | None = None


def _yaml(name: str) -> dict:
    return yaml.safe_load((ASSETS_DIR / name).read_text())


def build_planner() -> NightPlanner:
    company, partners = _yaml("company.yaml"), _yaml("partners.yaml")
    settings = _yaml("outreach.yaml")["lo_alert"]
    planner = NightPlanner(
        campaigns=load_campaigns(), register=load_register(),
        renderer=Renderer(templates_dir(), company, partners),
        content_rules=ContentRules.load(), company=company,
        lo_alert_min_score=Decimal(str(settings["min_engagement_score"])),
        lo_alert_every_days=int(settings["every_days"]),
    )
    planner.build = build_planner  # the second process builds its own the same way
    return planner


@contextmanager
def _no_cycle_collector() -> Iterator[None]:
    """The night holds millions of long-lived rows and makes few reference cycles: the cycle
    collector would rescan them over and over (a third of the stage at 100,000 loans)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_details(con: duckdb.DuckDBPyConnection, state: NightState, due: list[DueStep],
                  lo_alert_min_score: Decimal) -> None:
    """load_details, then DuckDB's cache of the table blocks it read is let go: nothing reads
    them again tonight, and the night's peak comes while it decides the messages. The cache is
    evicted by lowering the memory limit for a moment (no one sets it otherwise)."""
    load_details(con, state, due, lo_alert_min_score)
    con.execute("set memory_limit = '1MB'")
    con.execute("reset memory_limit")


def _let_go_of_unsent_texts(plan: NightPlan) -> None:
    """Tonight's decisions are final: a message not sent is recorded by its ids and template
    (audit_record) and goes in no send file, so its rendered text is let go before the audit
    log, metrics, report and send files are made (a night whose campaigns are held keeps
    nearly every text otherwise)."""
    for c in plan.considered:
        if c.decision != "send" and c.rendered is not None:
            c.rendered = c.rendered._replace(subject=None, body_text="", body_html=None)


def run_outreach(warehouse: Path, as_of: date, exports: Path, run_id: str, code_version: str,
                 dry_run: bool = False) -> OutreachResult:
    """Decide and record tonight's messages and stage the send files in a private folder.
    Outreach only moves forward: a night already done, or an earlier one, is skipped."""
    with _no_cycle_collector():
        return _run_outreach(warehouse, as_of, exports, run_id, code_version, dry_run)


def _run_outreach(warehouse: Path, as_of: date, exports: Path, run_id: str, code_version: str,
                  dry_run: bool) -> OutreachResult:
    # A crashed run's staging folders were released or deleted at ingest, under the writer
    # lock (send_release.release_committed): deleting them here could lose committed files.
    with duckdb.connect(str(warehouse)) as con:
        # DuckDB keeps the memory of a finished query (the staging views' windows over every
        # event) until its allocator is flushed; background threads hand it back to the OS, so
        # it is not carried through the night.
        con.execute("set allocator_background_threads = true")
        done = outreach_nights(con)
        if done and as_of < done[-1]:
            return OutreachResult("skipped", f"backfill of {as_of}: outreach already ran for "
                                             f"{done[-1]}, so it moves forward only")
        if as_of in done:
            return OutreachResult("skipped", f"outreach for {as_of} is already recorded; "
                                             "nothing is sent twice")
        planner = build_planner()
        state = load_night_state(con, as_of, planner.campaigns)
        plan = planner.plan(state, partial(_read_details, con))
        planner.hold_under_reach(con, state, plan)
        if dry_run:
            preview = exports / PREVIEW_FOLDER / as_of.isoformat()
            preview.mkdir(parents=True, exist_ok=True)
            write_report(preview / "report.html", plan, con, preview=True)
            return OutreachResult("done", f"dry run: preview at {preview}", None, plan)
        _let_go_of_unsent_texts(plan)
        store_plan(con, plan, state, run_id, code_version)
        # Computed once from the stored plan, for the mart and for the report.
        metrics = campaign_metrics_rows(con, as_of, planner.campaigns)
        store_campaign_metrics(con, as_of, metrics)
        staged = staging_dir(exports, as_of)
        write_report(staged / "report.html", plan, con, metrics)
        write_send_files(staged, send_file_rows(plan, state), run_id=run_id,
                         code_version=code_version, template_hashes=template_hashes(plan),
                         extra_files=["report.html"], audit_chain=night_head(con, as_of))
    return OutreachResult("done", f"{len(plan.considered)} considered, {len(plan.sent)} sent",
                          staged, plan)
