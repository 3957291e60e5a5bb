"""`xsell explain`: why a borrower is or is not in each audience, and what happened to messages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.campaigns import Campaign, load_campaigns

# Loan and borrower attributes the audience rules may read besides marts.loan_features.
ATTRIBUTES = """
    select loans.loan_id, loans.status, loans.servicing_status, loans.loan_purpose,
           loans.occupancy, loans.property_type, loans.property_state, loans.rate_type,
           loans.term_months, loans.note_rate, loans.original_amount, loans.original_value,
           loans.credit_score, loans.has_pmi, borrowers.annual_income, borrowers.is_investor
    from staging.stg_raw__loans as loans
    join staging.stg_raw__borrowers as borrowers using (borrower_id)
    where loans.borrower_id = ?"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, table]).fetchone()[0])


def _first_failed(rules: list, row: dict) -> str | None:
    for rule in rules:
        if rule.evaluate(row) is not True:
            return rule.describe()
    return None


def _loan_verdict(campaign: Campaign, row: dict) -> str:
    failed = _first_failed(campaign.trigger, row)
    if failed:
        return f"trigger not met: {failed}"
    failed = _first_failed(campaign.eligibility, row)
    return f"not eligible: {failed}" if failed else "meets every rule"


def _values(campaign: Campaign, row: dict) -> str:
    return ", ".join(f"{f}={row.get(f)}" for f in sorted(campaign.features()))


def _campaign_section(con, campaign: Campaign, borrower_id: str, as_of: date,
                      loans: list[dict]) -> list[str]:
    lines = [f"{campaign.id} (priority {campaign.priority}"
             f"{', disabled' if not campaign.enabled else ''})"]
    member = _rows(con, f"select * from marts.audience_{campaign.id} "
                        "where as_of_date = ? and borrower_id = ?", [as_of, borrower_id]) \
        if _has_table(con, "marts", f"audience_{campaign.id}") else []
    if member:
        row = member[0]
        lines.append(f"  IN the audience with loan {row['loan_id']}: " + ", ".join(
            f"{k}={v}" for k, v in row.items()
            if k not in ("as_of_date", "campaign_id", "borrower_id", "loan_id")))
    else:
        excluded = _rows(con, "select loan_id, reason from marts.audience_exclusions where "
                              "as_of_date = ? and campaign_id = ? and borrower_id = ?",
                         [as_of, campaign.id, borrower_id])
        if excluded:
            lines.append(f"  OUT: loan {excluded[0]['loan_id']} met the trigger but "
                         f"{excluded[0]['reason']}")
        else:
            lines.append("  OUT: no loan met the trigger")
    for loan in loans:
        lines.append(f"    loan {loan['loan_id']}: {_loan_verdict(campaign, loan)} "
                     f"[{_values(campaign, loan)}]")
    return lines


def _message_lines(con, borrower_id: str, as_of: date, campaign_id: str | None) -> list[str]:
    if not _has_table(con, "outreach", "messages"):
        return []
    rows = _rows(con, """
        select as_of_date, campaign_id, step, channel, decision, reason, scheduled_for,
               message_id
        from outreach.messages
        where borrower_id = ? and as_of_date <= ? and (? is null or campaign_id = ?)
        order by as_of_date, campaign_id, step""", [borrower_id, as_of, campaign_id, campaign_id])
    lines = ["", f"messages considered up to {as_of}: {len(rows)}"]
    for r in rows:
        when = f" for {r['scheduled_for']}" if r["scheduled_for"] else ""
        lines.append(f"  {r['as_of_date']} {r['campaign_id']} step {r['step']} {r['channel']}: "
                     f"{r['decision'].upper()} by {r['reason']}{when} ({r['message_id']})")
    return lines


def explain(warehouse: Path, borrower_id: str, as_of: date | None = None,
            campaign_id: str | None = None) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if as_of is None:
            as_of = con.execute("select max(as_of_date) from marts.loan_features").fetchone()[0]
        features = _rows(con, "select * from marts.loan_features where as_of_date = ? "
                              "and borrower_id = ? order by loan_id", [as_of, borrower_id])
        attributes = {r["loan_id"]: r for r in _rows(con, ATTRIBUTES, [borrower_id])}
        if not features and not attributes:
            return f"borrower {borrower_id}: no loans on {as_of}"
        loans = [attributes.get(f["loan_id"], {}) | f for f in features]
        lines = [f"borrower {borrower_id} on {as_of}: {len(loans)} loan(s)"]
        campaigns = load_campaigns()
        for campaign in campaigns.values():
            if campaign_id and campaign.id != campaign_id:
                continue
            lines += _campaign_section(con, campaign, borrower_id, as_of, loans)
        lines += _message_lines(con, borrower_id, as_of, campaign_id)
    return "\n".join(lines)
