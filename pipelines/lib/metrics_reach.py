"""fair_lending.reach: does a campaign reach borrowers in majority-minority tracts as often as
borrowers elsewhere? (COMPLIANCE.md, "Campaign rules".)

Definitions, per campaign, over the trailing `trailing_nights` nights (as_of − n, as_of]:

- **Borrowers, not messages.** An *eligible* borrower is one in `marts.audience_<campaign>` on
  at least one night of the window. Their tract is that of the loan on their latest audience
  row in the window: the loan's `property_census_tract`, joined to
  `census_tracts.minority_pct`. A borrower whose loan has no tract, or whose tract is not in
  census_tracts, has no *known tract* and is left out of both sides.
- A *reached* borrower is an eligible one with at least one `send` decision of the campaign
  on a night of the window. Control-group borrowers stay in the eligible count: they are drawn
  by a hash of the borrower id, so they dilute both sides alike.
- The *majority-minority* side is minority_pct ≥ 50 (the register's
  `majority_minority_pct`); the other side is every other known tract.
- AIR = reach rate (majority-minority) ÷ reach rate (others); undefined when nobody on the
  other side was reached.
- z = the pooled two-proportion z of (minority rate − other rate): negative when
  majority-minority tracts are reached less.
- **Held** when each side has at least `min_each_side` (30) eligible borrowers and AIR < 0.80
  or z < −2. A reviewer's recorded justification (the campaign's `fair_lending_review`) is
  the guard's business, not this measurement's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import duckdb

from pipelines.lib.metrics_sources import (
    Tonight,
    audience_relation,
    checked_name,
    outreach_relations,
    relation_exists,
    sql_date,
)
from pipelines.lib.metrics_stats import rate, two_proportion_z

if TYPE_CHECKING:
    from pipelines.lib.register import Register

DEFAULTS = {"trailing_nights": 30, "min_each_side": 30, "min_air": 0.80, "min_z": -2.0,
            "majority_minority_pct": 50}


@dataclass(frozen=True)
class Reach:
    """One campaign's fair-lending reach on one night."""

    campaign_id: str
    as_of: date
    trailing_nights: int
    minority_eligible: int
    minority_reached: int
    other_eligible: int
    other_reached: int
    air: float | None
    z: float | None
    enough_data: bool  # at least min_each_side eligible on each side
    held: bool

    @property
    def minority_rate(self) -> float | None:
        return rate(self.minority_reached, self.minority_eligible)

    @property
    def other_rate(self) -> float | None:
        return rate(self.other_reached, self.other_eligible)


def reach_params(register: Register | None = None) -> dict:
    """The thresholds of fair_lending.reach from the compliance register, over the defaults."""
    if register is None:
        from pipelines.lib.register import load_register
        register = load_register()
    params = dict(DEFAULTS)
    if "fair_lending.reach" in register:
        params.update(register.params("fair_lending.reach"))
    return params


def judge_reach(campaign_id: str, as_of: date, trailing_nights: int, minority: tuple[int, int],
                other: tuple[int, int], min_each_side: int = 30, min_air: float = 0.80,
                min_z: float = -2.0) -> Reach:
    """The AIR, z and verdict from the counts: minority and other are (eligible, reached)."""
    (n1, x1), (n2, x2) = minority, other
    p1, p2 = rate(x1, n1), rate(x2, n2)
    air = p1 / p2 if p1 is not None and p2 else None
    z = two_proportion_z(x1, n1, x2, n2)
    enough = n1 >= min_each_side and n2 >= min_each_side
    held = enough and ((air is not None and air < min_air) or (z is not None and z < min_z))
    return Reach(campaign_id, as_of, trailing_nights, n1, x1, n2, x2, air, z, enough, held)


def reach_counts(con: duckdb.DuckDBPyConnection, as_of: date, campaign_id: str,
                 trailing_nights: int, messages: str, majority_minority_pct: float = 50
                 ) -> tuple[tuple[int, int], tuple[int, int]]:
    """((minority eligible, reached), (other eligible, reached)) from an audit-log relation."""
    night = sql_date(as_of)
    start = f"({night} - {int(trailing_nights)})"  # the window is (start, night]
    if not (relation_exists(con, "staging.stg_raw__loans")
            and relation_exists(con, "staging.stg_raw__census_tracts")):
        return (0, 0), (0, 0)
    found = con.execute(f"""
        with in_window as (
            -- one audience row per borrower and night, so the latest night names one loan
            select borrower_id, arg_max(loan_id, as_of_date) as loan_id
            from {audience_relation(con, campaign_id)}
            where as_of_date > {start} and as_of_date <= {night}
            group by borrower_id
        ),
        eligible as (
            select w.borrower_id, t.minority_pct >= ? as majority_minority
            from in_window as w
            join staging.stg_raw__loans as l on l.loan_id = w.loan_id
            join staging.stg_raw__census_tracts as t
              on t.census_tract = l.property_census_tract
            where t.minority_pct is not null
        ),
        reached as (
            select distinct borrower_id from {messages}
            where campaign_id = ? and decision = 'send'
              and as_of_date > {start} and as_of_date <= {night}
        )
        select e.majority_minority, count(*), count(r.borrower_id)
        from eligible as e left join reached as r using (borrower_id)
        group by 1""", [majority_minority_pct, campaign_id]).fetchall()
    sides = {side: (int(n), int(x)) for side, n, x in found}
    return sides.get(True, (0, 0)), sides.get(False, (0, 0))


def fair_lending_reach(con: duckdb.DuckDBPyConnection, as_of: date, campaign_id: str,
                       trailing_nights: int = 30, *, tonight_sent: Iterable[str] | None = None,
                       min_each_side: int = 30, min_air: float = 0.80, min_z: float = -2.0,
                       majority_minority_pct: float = 50) -> Reach:
    """fair_lending.reach for one campaign on one night.

    History comes from `outreach.messages`. `tonight_sent`, when given, stands for tonight's
    `send` decisions of this campaign (the borrower ids), in place of any stored rows of
    as_of: a guard deciding tonight's batch, or a dry run, passes what the plan would send."""
    checked_name(campaign_id)
    tonight = None
    if tonight_sent is not None:
        tonight = Tonight(as_of, tuple((campaign_id, 0, b, "send", "all_rules_passed")
                                       for b in sorted(set(tonight_sent))), ())
    messages, _ = outreach_relations(con, as_of, tonight)
    minority, other = reach_counts(con, as_of, campaign_id, trailing_nights, messages,
                                   majority_minority_pct)
    return judge_reach(campaign_id, as_of, trailing_nights, minority, other,
                       min_each_side, min_air, min_z)

