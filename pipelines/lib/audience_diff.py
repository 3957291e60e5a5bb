"""`xsell diff`: who entered and left each audience since the previous night, and why."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.campaigns import load_campaigns


def audience_diff(warehouse: Path, as_of: date | None = None) -> str:
    lines = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if as_of is None:
            as_of = con.execute("select max(as_of_date) from marts.loan_features").fetchall()[0][0]
        before = con.execute("select max(as_of_date) from marts.loan_features "
                             "where as_of_date < ?", [as_of]).fetchall()[0][0]
        lines.append(f"audiences on {as_of} against {before or 'no earlier night'}")
        for cid in sorted(load_campaigns()):
            table = f"marts.audience_{cid}"
            entered = con.execute(
                f"select borrower_id, loan_id from {table} where as_of_date = ? and borrower_id "
                f"not in (select borrower_id from {table} where as_of_date = ?) order by 1",
                [as_of, before]).fetchall()
            left = con.execute(f"""
                select gone.borrower_id, coalesce(excluded.reason, 'no loan met the trigger')
                from (select borrower_id from {table} where as_of_date = ?
                      except select borrower_id from {table} where as_of_date = ?) as gone
                left join marts.audience_exclusions as excluded
                  on excluded.borrower_id = gone.borrower_id and excluded.as_of_date = ?
                 and excluded.campaign_id = ?
                order by 1""", [before, as_of, as_of, cid]).fetchall()
            lines.append(f"{cid}: +{len(entered)} entered, -{len(left)} left")
            lines += [f"  + {b} (loan {loan}): met every rule" for b, loan in entered]
            lines += [f"  - {b}: {reason}" for b, reason in left]
    return "\n".join(lines)
