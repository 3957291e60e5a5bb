"""The night's report: one self-contained HTML file that opens offline."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

import duckdb

from pipelines.lib.outreach.plan import NightPlan


def _table(headers: list[str], body: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
                   for r in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def write_report(path: Path, plan: NightPlan, con: duckdb.DuckDBPyConnection) -> None:
    """Counts by campaign and decision, the reasons, and any holds. Ids and counts only."""
    decisions = Counter((c.campaign.id, c.decision) for c in plan.considered)
    reasons = Counter((c.campaign.id, c.decision, c.reason or "") for c in plan.considered
                      if c.decision != "send")
    campaigns = sorted({c for c, _ in decisions} | set(plan.holds))
    order = ["send", "defer", "suppress", "block", "hold"]
    by_campaign = [[c, *[decisions.get((c, d), 0) for d in order]] for c in campaigns]
    holds = [[c, r] for c, r in sorted(plan.holds.items())]
    body = f"""<!doctype html><html><head><meta charset="utf-8">
<title>xsell night {plan.as_of}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th{{background:#eee}}</style>
</head><body><h1>xsell night {plan.as_of}</h1>
<h2>Holds</h2>{_table(["campaign", "guard"], holds) if holds else "<p>No holds.</p>"}
<h2>Messages by decision</h2>{_table(["campaign", *order], by_campaign)}
<h2>Reasons</h2>{_table(["campaign", "decision", "rule", "messages"],
                        [[*k, n] for k, n in sorted(reasons.items())])}
<h2>Enrolled tonight</h2>{_table(["campaign", "enrollments"], sorted(
    Counter(e.campaign_id for e in plan.new_enrollments).items()))}
<h2>Loan-officer call list</h2><p>{sum(a.decision == "send" for a in plan.lo_alerts)} borrowers</p>
</body></html>
"""
    path.write_text(body, encoding="utf-8")
