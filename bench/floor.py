"""The floor: bench/floor.sql run in this process, timed per statement, and checked row for row
against what the nightly wrote to the warehouse.

    .venv/bin/python bench/floor.py --input DIR --as-of D [--database PATH] [--compare WAREHOUSE]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb

FLOOR_SQL = Path(__file__).with_name("floor.sql")
CAMPAIGNS = ("refinance", "heloc", "insurance", "investment_property", "post_close_welcome",
             "financial_planning")
# marts.loan_features columns the floor must reproduce exactly (as_of_date and the keys aside)
FEATURES = (
    "lifecycle_stage", "months_since_close", "days_since_close", "payments_made", "current_upb",
    "est_value", "value_method", "current_ltv", "available_equity", "market_rate", "market_apr",
    "market_rate_date", "market_rate_age_days", "rate_spread_bps", "scheduled_payment",
    "new_payment", "monthly_savings", "closing_costs", "breakeven_months", "engagement_score",
    "days_since_clear_to_close", "days_to_rate_reset", "upb_to_original_value",
)


@dataclass
class Statement:
    table: str
    seconds: float
    rows: int


@dataclass
class FloorResult:
    wall_s: float
    cpu_s: float
    peak_rss_mib: float | None
    threads: int
    statements: list[Statement] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def statements(landing: Path, as_of: date) -> list[tuple[str, str]]:
    """(table, sql) for each `-- table:` block of floor.sql, with the night filled in."""
    text = FLOOR_SQL.read_text()
    landing_literal = str(landing.resolve()).replace("'", "''")
    blocks = re.split(r"^-- table: (\w+)\s*$", text, flags=re.MULTILINE)
    found = []
    for table, body in zip(blocks[1::2], blocks[2::2], strict=True):
        sql = body.replace("{landing}", landing_literal).replace("{as_of}", as_of.isoformat())
        found.append((table, sql.strip()))
    return found


def _vm_hwm_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM, so the peak is the floor's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_floor(landing: Path, as_of: date, database: Path | None = None) -> FloorResult:
    """Run every statement of floor.sql in one connection; the clock covers connect to close."""
    if database is not None:
        for leftover in (database, database.with_name(database.name + ".wal")):
            leftover.unlink(missing_ok=True)
    reset = _reset_peak_rss()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    con = duckdb.connect(str(database) if database else ":memory:")
    con.execute("set TimeZone = 'UTC'")
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    done = []
    for table, sql in statements(landing, as_of):
        t = time.perf_counter()
        con.execute(sql)
        seconds = time.perf_counter() - t
        rows = con.execute(f"select count(*) from {table}").fetchone()[0]
        done.append(Statement(table, round(seconds, 3), rows))
    con.close()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    hwm = _vm_hwm_kib() if reset else None
    return FloorResult(round(wall, 3), round(cpu, 3),
                       round(hwm / 1024, 1) if hwm is not None else None, int(threads), done)


def compare(floor_db: Path, warehouse: Path, as_of: date) -> dict:
    """Row-for-row parity of the floor with the warehouse's marts for the night: per feature
    column, the loans whose value differs; per audience, the (borrower, loan) rows in one and
    not the other. All zeros means the floor computes what the pipeline computes."""
    con = duckdb.connect(str(floor_db), read_only=True)
    con.execute(f"attach '{warehouse}' as wh (read_only)")
    night = as_of.isoformat()
    pipe = f"(select * from wh.marts.loan_features where as_of_date = date '{night}')"
    counts = con.execute(f"""
        select (select count(*) from loan_features), (select count(*) from {pipe}),
               (select count(*) from loan_features f full join {pipe} p using (loan_id)
                where f.loan_id is null or p.loan_id is null)""").fetchone()
    differing = ", ".join(
        f"count(*) filter (where f.{c} is distinct from p.{c}) as {c}" for c in FEATURES)
    diffs = con.execute(
        f"select {differing} from loan_features f join {pipe} p using (loan_id)").fetchone()
    features = {c: n for c, n in zip(FEATURES, diffs, strict=True) if n}
    audiences = {}
    for campaign in CAMPAIGNS:
        theirs = (f"(select borrower_id, loan_id from wh.marts.audience_{campaign} "
                  f"where as_of_date = date '{night}')")
        ours = f"(select borrower_id, loan_id from audience_{campaign})"
        only_floor, only_pipeline, rows = con.execute(f"""
            select (select count(*) from ({ours} except {theirs})),
                   (select count(*) from ({theirs} except {ours})),
                   (select count(*) from {theirs})""").fetchone()
        audiences[campaign] = {"rows": rows, "only_floor": only_floor,
                               "only_pipeline": only_pipeline}
    con.close()
    same = (counts[0] == counts[1] and counts[2] == 0 and not features
            and all(a["only_floor"] == a["only_pipeline"] == 0 for a in audiences.values()))
    return {"identical": same, "floor_loans": counts[0], "pipeline_loans": counts[1],
            "unmatched_loans": counts[2], "feature_columns_differing": features,
            "audiences": audiences}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True, help="a Parquet landing zone")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--database", type=Path, default=None,
                        help="DuckDB file to write (default: in memory)")
    parser.add_argument("--compare", type=Path, default=None, metavar="WAREHOUSE",
                        help="check the floor's rows against this warehouse (needs --database)")
    args = parser.parse_args(argv)
    result = run_floor(args.input, args.as_of, args.database)
    for s in result.statements:
        print(f"{s.table:30} {s.seconds:8.2f}s {s.rows:>12,} rows")
    print(f"{'floor total':30} {result.wall_s:8.2f}s wall, {result.cpu_s:.2f}s cpu, "
          f"peak RSS {result.peak_rss_mib} MiB, {result.threads} threads")
    if args.compare:
        if args.database is None:
            parser.error("--compare needs --database")
        print(json.dumps(compare(args.database, args.compare, args.as_of), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
