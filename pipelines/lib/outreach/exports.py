"""The send-file rows of a night's plan, one file per channel (OUTPUTS.md "Send files")."""

from __future__ import annotations

from typing import Any

from pipelines.lib.outreach.plan import Considered, NightPlan
from pipelines.lib.outreach.state import NightState

CHANNEL_FILES = {"email": "email.csv", "sms": "sms.csv", "phone": "call_list.csv",
                 "mail": "direct_mail.csv"}


def _row(c: Considered, state: NightState) -> dict[str, Any]:
    r = c.rendered
    borrower = state.borrowers.get(c.due.enrollment.borrower_id, {})
    common = {
        "message_id": c.message_id,
        "borrower_id": c.due.enrollment.borrower_id,
        "campaign_id": c.campaign.id,
        "step": c.due.step,
        "scheduled_for": c.gate.scheduled_for.isoformat() if c.gate.scheduled_for else None,
    }
    channel = r.channel
    if channel == "email":
        return common | {
            "to_email": borrower.get("email"), "from_email": r.from_email,
            "reply_to": r.reply_to, "subject": r.subject, "body_text": r.body_text,
            "body_html": r.body_html, "unsubscribe_url": r.unsubscribe_url,
            "list_unsubscribe": r.list_unsubscribe,
        }
    if channel == "sms":
        return common | {"to_phone": borrower.get("phone"), "body_text": r.body_text}
    if channel == "phone":
        officer = state.loans.get(c.loan_id, {}).get("loan_officer_id")
        return common | {"to_phone": borrower.get("phone"), "loan_officer_id": officer,
                         "script_text": r.body_text}
    name = f"{borrower.get('first_name', '')} {borrower.get('last_name', '')}".strip()
    return common | {
        "name": name, "address": borrower.get("mailing_address"),
        "city": borrower.get("mailing_city"), "state": borrower.get("mailing_state"),
        "zip": borrower.get("mailing_zip"), "body_text": r.body_text,
    }


def _talking_points(state: NightState, campaigns: list[str], loan_id: str) -> str:
    f = state.features.get(loan_id, {})
    points = [f"In audiences: {', '.join(campaigns)}."]
    if "refinance" in campaigns and f.get("monthly_savings") is not None:
        points.append(f"Estimated savings ${f['monthly_savings']}/month, breakeven "
                      f"{f.get('breakeven_months')} months.")
    if "heloc" in campaigns and f.get("available_equity") is not None:
        points.append(f"Available equity about ${f['available_equity']}.")
    return " ".join(points)


def send_file_rows(plan: NightPlan, state: NightState) -> dict[str, list[dict[str, Any]]]:
    files: dict[str, list[dict[str, Any]]] = {name: [] for name in CHANNEL_FILES.values()}
    for c in plan.sent:
        files[CHANNEL_FILES[c.rendered.channel]].append(_row(c, state))
    files["lo_call_list.csv"] = [
        {"loan_officer_id": a.loan_officer_id, "borrower_id": a.borrower_id,
         "loan_id": a.loan_id, "to_phone": state.borrowers.get(a.borrower_id, {}).get("phone"),
         "engagement_score": a.engagement_score, "campaigns": a.campaigns,
         "talking_points": _talking_points(state, a.campaigns, a.loan_id)}
        for a in plan.lo_alerts if a.decision == "send"
    ]
    return files


def template_hashes(plan: NightPlan) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for c in plan.sent:
        hashes.update(c.rendered.template_files)
    return dict(sorted(hashes.items()))
