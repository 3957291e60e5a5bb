"""Write a night's outreach to the warehouse: enrollments, the chained audit log, LO alerts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from functools import partial
from itertools import islice
from typing import Any

import duckdb

from pipelines.lib.audit_chain import (
    GENESIS_HASH,
    Anchor,
    StoredRecord,
    VerifyResult,
    link,
    verify,
)
from pipelines.lib.bulk import insert_columns, insert_rows
from pipelines.lib.outreach.plan import NightPlan, audit_record
from pipelines.lib.outreach.state import NightState, ensure_schema

AUDIT_COLUMNS = (
    "seq", "message_id", "as_of_date", "run_id", "code_version", "enrollment_id",
    "campaign_id", "step", "channel", "borrower_id", "loan_id", "template_id",
    "template_sha256", "template_files", "config_sha256", "content_sha256", "disclosures",
    "scheduled_for", "decision", "reason", "rules_evaluated", "rule_values", "consent_rows",
    "timezone", "timezone_method", "prev_hash", "record_hash",
)


AUDIT_BATCH = 20_000  # audit records appended per insert


ENROLLMENT_COLUMNS = (
    "as_of_date", "enrollment_id", "campaign_id", "borrower_id", "loan_id", "enrolled_on",
    "control_group", "rate_spread_bps", "config_sha256", "rule_values",
)
LO_ALERT_COLUMNS = (
    "as_of_date", "send_day", "loan_officer_id", "borrower_id", "loan_id", "engagement_score",
    "campaigns", "decision", "reason",
)


def chain_head(con: duckdb.DuckDBPyConnection) -> tuple[str, int]:
    last = con.execute(
        "select record_hash, seq from outreach.messages order by seq desc limit 1").fetchall()
    return (last[0][0], last[0][1] + 1) if last else (GENESIS_HASH, 0)


def store_plan(con: duckdb.DuckDBPyConnection, plan: NightPlan, state: NightState,
               run_id: str, code_version: str) -> int:
    """Append tonight's rows, in one transaction; returns the number of audit records
    written."""
    ensure_schema(con)
    con.begin()
    try:
        written = _append_night(con, plan, state, run_id, code_version)
    except BaseException:
        con.rollback()
        raise
    con.commit()
    return written


def _append_night(con: duckdb.DuckDBPyConnection, plan: NightPlan, state: NightState,
                  run_id: str, code_version: str) -> int:
    insert_rows(con, "outreach.enrollments", ENROLLMENT_COLUMNS,
                [[plan.as_of, e.enrollment_id, e.campaign_id, e.borrower_id, e.loan_id,
                  e.enrolled_on, e.control, e.rate_spread_bps, e.config_sha256,
                  plan.rule_values[e.enrollment_id]] for e in plan.new_enrollments])
    # Records are made one at a time as the chain links them, and appended a batch at a time:
    # a night's records are never all held at once, as dicts or as Arrow columns.
    in_order = sorted(plan.considered, key=lambda c: (c.campaign.id, c.due.step, c.message_id))
    head, first_seq = chain_head(con)
    linked = link((audit_record(c, state, run_id, code_version) for c in in_order),
                  head, first_seq)
    written = 0
    while batch := list(islice(linked, AUDIT_BATCH)):
        insert_columns(con, "outreach.messages", {c: [r[c] for r in batch] for c in AUDIT_COLUMNS})
        head, written = batch[-1]["record_hash"], written + len(batch)
    send_day = plan.as_of.toordinal() + 1
    insert_rows(con, "outreach.lo_alerts", LO_ALERT_COLUMNS,
                [[plan.as_of, date.fromordinal(send_day), a.loan_officer_id, a.borrower_id,
                  a.loan_id, a.engagement_score, json.dumps(a.campaigns), a.decision, a.reason]
                 for a in plan.lo_alerts])
    # --- the chain's head after tonight, the anchor `xsell audit verify` checks the log against,
    # and its digest, what the next night's check compares the records before its own with
    records = first_seq + written
    con.execute("insert into outreach.nights (as_of_date, run_id, considered, sent, "
                "held_campaigns, chain_records, chain_head, chain_digest) "
                "values (?, ?, ?, ?, ?, ?, ?, ?)",
                [plan.as_of, run_id, len(plan.considered), len(plan.sent),
                 json.dumps(plan.holds, sort_keys=True), records, head,
                 _digest_after(con, plan.as_of, first_seq, records)])
    # --- end of the chain's head
    return written


def _digest_after(con: duckdb.DuckDBPyConnection, as_of: date, first_seq: int,
                  records: int) -> int:
    """The digest of the chain's first `records` records: the night before's digest plus
    tonight's records' (a sum adds up by parts), or every record's when that night kept none."""
    before = _night_before(con, as_of)
    if before is not None and before[0] == first_seq and before[2] is not None:
        return before[2] + chain_digest(con, records, first_seq)[1]
    return chain_digest(con, records)[1]


def audit_rows(con: duckdb.DuckDBPyConnection, since: int | None = None
               ) -> Iterator[dict[str, Any]]:
    """The audit log in the order of its sequence numbers, read a batch at a time; with
    `since`, only the records from that sequence number on (and any without one)."""
    cursor = con.execute(f"select {_FIELDS} from outreach.messages {_since(since)}order by seq")
    while batch := cursor.fetchmany(AUDIT_BATCH):
        for r in batch:
            yield dict(zip(AUDIT_COLUMNS, r, strict=True))


# as_of_date is the one column that is not JSON as stored: DuckDB writes its ISO text.
_VALUES = {c: "cast(as_of_date as varchar)" if c == "as_of_date" else c for c in AUDIT_COLUMNS}
_FIELDS = ", ".join(f"{v} as {c}" for c, v in _VALUES.items())
# the canonical JSON of a record (audit_chain.canonical_json): its fields but record_hash, by
# name, built by DuckDB
_CANONICAL_TEXT = "json_object({})::varchar".format(", ".join(
    f"'{c}', {_VALUES[c]}" for c in sorted(AUDIT_COLUMNS) if c != "record_hash"))
_CHAIN_FIELDS = ("seq", "message_id", "prev_hash", "record_hash")


def _since(since: int | None) -> str:
    return "" if since is None else f"where seq is null or seq >= {int(since)} "


def chain_rows(con: duckdb.DuckDBPyConnection, since: int | None = None
               ) -> Iterator[StoredRecord]:
    """audit_rows as verifying reads them: each record's chain fields and id with the
    canonical JSON DuckDB builds of it (fetching every field into Python cost most of the
    check); a record is read whole only when its text does not hash to its hash."""
    reader = con.cursor()  # its own cursor: the first one streams the log meanwhile
    cursor = con.execute(f"select rowid, {', '.join(_CHAIN_FIELDS)}, {_CANONICAL_TEXT} "
                         f"from outreach.messages {_since(since)}order by seq")
    try:
        while batch := cursor.fetchmany(AUDIT_BATCH):
            for rowid, *fields, text in batch:
                yield StoredRecord(zip(_CHAIN_FIELDS, fields), text,
                                   partial(_whole_record, reader, rowid))
    finally:
        reader.close()


def _whole_record(reader: duckdb.DuckDBPyConnection, rowid: int) -> dict[str, Any]:
    row = reader.execute(f"select {_FIELDS} from outreach.messages where rowid = ?",
                         [rowid]).fetchone()
    return dict(zip(AUDIT_COLUMNS, row, strict=True))


def night_head(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, Any]:
    """The chain's head a night recorded, as its send files' manifest carries it."""
    records, head = con.execute("select chain_records, chain_head from outreach.nights "
                                "where as_of_date = ?", [as_of]).fetchone()
    return {"records": records, "head": head}


def recorded_heads(con: duckdb.DuckDBPyConnection) -> list[Anchor]:
    """The chain's head each night recorded when it appended its records."""
    return [Anchor(records, head, f"night {as_of}") for as_of, records, head in con.execute(
        "select as_of_date, chain_records, chain_head from outreach.nights "
        "where chain_head is not null order by as_of_date").fetchall()]


def verify_audit_log(con: duckdb.DuckDBPyConnection,
                     more_anchors: Iterable[Anchor] = ()) -> VerifyResult:
    """Check every record's hash and link, in the order of its sequence number, and the chain
    against the heads the nights recorded (and `more_anchors`, kept outside the warehouse)."""
    return verify(chain_rows(con), anchors=[*recorded_heads(con), *more_anchors])


# The digest of a stretch of the log: DuckDB's 64-bit hash of every column of each record,
# summed. It is no proof against someone who rewrites it with the records (nor is the chain's
# head in outreach.nights); it shows any record of the stretch edited, added or deleted since.
DIGEST = f"count(*), coalesce(sum(hash({', '.join(AUDIT_COLUMNS)})), 0)"


def chain_digest(con: duckdb.DuckDBPyConnection, end: int, start: int | None = None
                 ) -> tuple[int, int]:
    """(records, digest) of the records whose seq is below `end`, from `start` on if given."""
    since = "" if start is None else f" and seq >= {int(start)}"
    return con.execute(f"select {DIGEST} from outreach.messages where seq < ?{since}",
                       [end]).fetchone()


def _night_before(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple | None:
    """(chain_records, chain_head, chain_digest) of the last night before `as_of` to record
    a head."""
    return con.execute("select chain_records, chain_head, chain_digest from outreach.nights "
                       "where as_of_date < ? and chain_head is not null "
                       "order by as_of_date desc limit 1", [as_of]).fetchone()


def verify_night(con: duckdb.DuckDBPyConnection, as_of: date) -> VerifyResult:
    """The night's check of the log, costing tonight's records rather than every night's:
    tonight's are rehashed and linked from the head the night before recorded, against the
    heads recorded since, as verify_audit_log does; the records before them must still give
    the digest that night stored once its own check had passed, so an edit to any of them
    shows. Without such a night, or when the digest differs, the whole log is verified (which
    names the first bad record)."""
    before = _night_before(con, as_of)
    if before is None or before[2] is None:
        return verify_audit_log(con)
    records, head, digest = before
    if chain_digest(con, records) != (records, digest):
        return verify_audit_log(con)
    anchors = [a for a in recorded_heads(con) if a.records >= records]
    return verify(chain_rows(con, since=records), head, records, anchors)
