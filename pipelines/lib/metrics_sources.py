"""What the metrics read: the outreach history in the warehouse, with tonight from the plan.

On a normal night the metrics run after `store_plan`, and every row they need is in the
warehouse. The report, and a dry run, see tonight only as a plan. `outreach_relations` gives
both the same shape: the stored rows of earlier nights, then tonight's rows either from the
tables or from a `Tonight` registered as an Arrow view on the connection (nothing is written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    from pipelines.lib.outreach.plan import NightPlan

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

MESSAGE_COLUMNS = "as_of_date, campaign_id, step, borrower_id, decision, reason"
ENROLLMENT_COLUMNS = "as_of_date, campaign_id, borrower_id, loan_id, enrolled_on, control_group"

_MESSAGES_SCHEMA = pa.schema([
    ("as_of_date", pa.date32()), ("campaign_id", pa.string()), ("step", pa.int32()),
    ("borrower_id", pa.string()), ("decision", pa.string()), ("reason", pa.string())])
_ENROLLMENTS_SCHEMA = pa.schema([
    ("as_of_date", pa.date32()), ("campaign_id", pa.string()), ("borrower_id", pa.string()),
    ("loan_id", pa.string()), ("enrolled_on", pa.date32()), ("control_group", pa.bool_())])


@dataclass(frozen=True)
class Tonight:
    """Tonight's outreach as planned: the messages considered and the new enrollments."""

    as_of: date
    messages: tuple[tuple[str, int, str, str, str | None], ...]  # campaign, step, borrower,
    #                                                               decision, reason
    enrollments: tuple[tuple[str, str, str, date, bool], ...]  # campaign, borrower, loan,
    #                                                             enrolled_on, control

    @classmethod
    def from_plan(cls, plan: NightPlan) -> Tonight:
        return cls(
            as_of=plan.as_of,
            messages=tuple((c.campaign.id, c.due.step, c.due.enrollment.borrower_id,
                            c.decision, c.reason) for c in plan.considered),
            enrollments=tuple((e.campaign_id, e.borrower_id, e.loan_id, e.enrolled_on,
                               e.control) for e in plan.new_enrollments))


def sql_date(day: date) -> str:
    """A date literal; `day` is a date, never text from outside."""
    return f"DATE '{date.fromordinal(day.toordinal()).isoformat()}'"


def checked_name(name: str) -> str:
    """A campaign id as it may appear in a table name (the campaign model allows no more)."""
    if not _NAME.match(name):
        raise ValueError(f"campaign id {name!r} is not a plain lower_snake name")
    return name


def relation_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, table]).fetchall()[0][0])


def audience_relation(con: duckdb.DuckDBPyConnection, campaign_id: str) -> str:
    """`marts.audience_<id>`, or an empty relation of the same key columns when it is absent."""
    table = f"marts.audience_{checked_name(campaign_id)}"
    if relation_exists(con, table):
        return f"(select as_of_date, borrower_id, loan_id from {table})"
    return ("(select cast(null as date) as as_of_date, cast(null as varchar) as borrower_id, "
            "cast(null as varchar) as loan_id where false)")


_SQL_TYPES = {pa.date32(): "date", pa.bool_(): "boolean", pa.int32(): "integer",
              pa.string(): "varchar"}


def _empty(schema: pa.Schema) -> str:
    columns = ", ".join(f"cast(null as {_SQL_TYPES[f.type]}) as {f.name}" for f in schema)
    return f"(select {columns} where false)"


def outreach_relations(con: duckdb.DuckDBPyConnection, as_of: date,
                       tonight: Tonight | None = None) -> tuple[str, str]:
    """(messages, enrollments) as SQL relations of every night up to and including as_of.
    With `tonight`, the stored rows of as_of itself are replaced by the plan's."""
    stored_messages = (f"(select {MESSAGE_COLUMNS} from outreach.messages)"
                       if relation_exists(con, "outreach.messages") else _empty(_MESSAGES_SCHEMA))
    stored_enrollments = (f"(select {ENROLLMENT_COLUMNS} from outreach.enrollments)"
                          if relation_exists(con, "outreach.enrollments")
                          else _empty(_ENROLLMENTS_SCHEMA))
    night = sql_date(as_of)
    if tonight is None:
        upto = f"where as_of_date <= {night}"
        return (f"(select * from {stored_messages} {upto})",
                f"(select * from {stored_enrollments} {upto})")
    messages = pa.table({
        "as_of_date": [as_of] * len(tonight.messages),
        "campaign_id": [m[0] for m in tonight.messages],
        "step": [m[1] for m in tonight.messages],
        "borrower_id": [m[2] for m in tonight.messages],
        "decision": [m[3] for m in tonight.messages],
        "reason": [m[4] for m in tonight.messages]}, schema=_MESSAGES_SCHEMA)
    enrollments = pa.table({
        "as_of_date": [as_of] * len(tonight.enrollments),
        "campaign_id": [e[0] for e in tonight.enrollments],
        "borrower_id": [e[1] for e in tonight.enrollments],
        "loan_id": [e[2] for e in tonight.enrollments],
        "enrolled_on": [e[3] for e in tonight.enrollments],
        "control_group": [e[4] for e in tonight.enrollments]}, schema=_ENROLLMENTS_SCHEMA)
    con.register("xsell_tonight_messages", messages)
    con.register("xsell_tonight_enrollments", enrollments)
    before = f"where as_of_date < {night} union all by name select * from"
    return (f"(select * from {stored_messages} {before} xsell_tonight_messages)",
            f"(select * from {stored_enrollments} {before} xsell_tonight_enrollments)")
