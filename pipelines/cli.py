"""The `xsell` command: run a night, explain a borrower, make a sample, verify the audit log,
backtest a campaign."""

from __future__ import annotations

import argparse
import atexit
import gc
import logging
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipelines.lib.backtest.cli import add_backtest_command
from pipelines.lib.paths import DEFAULT_INPUT, DEFAULT_OUT, DEFAULT_WAREHOUSE


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date (YYYY-MM-DD)") from None


def resolve_as_of(given: date | None, landing: Path) -> date:
    """--as-of, else the date the landing zone declares in `_as_of`, else yesterday (UTC)."""
    if given:
        return given
    declared = landing / "_as_of"
    if declared.is_file():
        return date.fromisoformat(declared.read_text().strip())
    return datetime.now(UTC).date() - timedelta(days=1)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
                        help=f"the DuckDB warehouse file (default {DEFAULT_WAREHOUSE})")


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.lib.warehouse import WarehouseBusy
    from pipelines.night import run_night

    as_of = resolve_as_of(args.as_of, args.input)
    today = datetime.now(UTC).date()
    if as_of > today or (args.from_date and args.from_date > as_of):
        print(f"xsell run: as_of {as_of} is after today ({today}) or before --from; a night "
              "runs once it has ended", file=sys.stderr)
        return 2
    if args.target == "spark":
        from pipelines.lib.spark_target import spark_available

        if (missing := spark_available()) is not None:
            print(f"xsell run: --target spark cannot run here: {missing}", file=sys.stderr)
            return 2
    try:
        outcome = run_night(as_of, args.input, args.warehouse, args.out,
                            first_night=args.from_date, dry_run=args.dry_run,
                            target=args.target)
    except WarehouseBusy as busy:
        print(f"xsell run: {busy}", file=sys.stderr)
        return 75
    except FileNotFoundError as missing:
        print(f"xsell run: {missing}", file=sys.stderr)
        return 2
    if not outcome.ok:
        print(f"xsell run: night {as_of} failed; nothing was sent and the warehouse is "
              "unchanged.", file=sys.stderr)
        for error in outcome.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from pipelines.lib.sample import write_sample

    gap = {} if args.tract_rate_gap is None else {"tract_rate_gap_pp": args.tract_rate_gap}
    counts = write_sample(args.out, loans=args.loans, seed=args.seed, as_of=args.as_of,
                          fmt=args.format, events_per_loan=args.events_per_loan, **gap)
    for source, rows in counts.items():
        print(f"{source:22} {rows:>12,}")
    print(f"wrote {args.out}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from pipelines.lib.explain import explain

    print(explain(args.warehouse, args.borrower_id, args.as_of, args.campaign))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines.lib.outreach.store import verify_audit_log
    from pipelines.lib.send_release import manifest_anchors

    if not args.warehouse.is_file():
        print(f"xsell audit verify: no warehouse at {args.warehouse}", file=sys.stderr)
        return 2
    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        result = verify_audit_log(con, manifest_anchors(args.out))
    if result.ok:
        print(f"audit log intact: {result.checked} record(s) verified")
        return 0
    where = f"position {result.first_bad_index}"
    record = ("" if result.first_bad_id is None else f"record {result.first_bad_id} ")
    print(f"audit log BROKEN at {record}({where}): {result.reason}", file=sys.stderr)
    return 1


def cmd_diff(args: argparse.Namespace) -> int:
    from pipelines.lib.audience_diff import audience_diff

    print(audience_diff(args.warehouse, args.as_of))
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from pipelines.lib.approvals import approve

    print(approve(args.warehouse, args.campaign, args.as_of, args.by, args.guard))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xsell", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="one nightly run, headless")
    run.add_argument("--as-of", type=_date, help="the night (default: the landing zone's "
                     "_as_of file, else yesterday)")
    run.add_argument("--from", dest="from_date", type=_date,
                     help="backfill every night from this date to --as-of in one run")
    run.add_argument("--input", type=Path, default=DEFAULT_INPUT,
                     help=f"the landing zone folder (default {DEFAULT_INPUT})")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help=f"where send files go (default {DEFAULT_OUT})")
    run.add_argument("--dry-run", action="store_true",
                     help="compute everything and change no state")
    run.add_argument("--target", choices=("duckdb", "spark"),
                     default=os.getenv("XSELL_TARGET", "duckdb"),
                     help="where dbt builds the features and audiences (default duckdb, or "
                     "$XSELL_TARGET); spark needs the spark extra and Java 17, see "
                     "docs/scaling_out.md")
    _common(run)
    run.set_defaults(handler=cmd_run)

    sample = commands.add_parser("sample", help="write a synthetic landing zone")
    sample.add_argument("--loans", type=int, default=2000)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--as-of", type=_date, default=None,
                        help="the night the sample is made for (default yesterday)")
    sample.add_argument("--out", type=Path, default=DEFAULT_INPUT)
    sample.add_argument("--format", choices=("csv", "parquet"), default="csv")
    sample.add_argument("--events-per-loan", type=float, default=3.0)
    sample.add_argument("--tract-rate-gap", type=float, default=None, metavar="PP",
                        help="note-rate points an all-minority tract pays over an all-white "
                        "one (default 0.80, which the fair-lending sample night needs; 0 "
                        "plants no gap)")
    _common(sample)
    sample.set_defaults(handler=cmd_sample)

    explain = commands.add_parser("explain", help="why a borrower is or is not in each audience")
    explain.add_argument("borrower_id")
    explain.add_argument("--as-of", type=_date, default=None,
                         help="the night (default the latest in the warehouse)")
    explain.add_argument("--campaign", default=None)
    _common(explain)
    explain.set_defaults(handler=cmd_explain)

    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="check the audit log's hash chain against the heads the nights recorded "
                       "and the send files' manifests under --out")
    verify.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"the send files' folder (default {DEFAULT_OUT})")
    _common(verify)
    verify.set_defaults(handler=cmd_audit_verify)

    diff = commands.add_parser("diff", help="who entered and left each audience, and why")
    diff.add_argument("--as-of", type=_date, default=None)
    _common(diff)
    diff.set_defaults(handler=cmd_diff)

    approve = commands.add_parser("approve", help="release a batch held by a guard")
    approve.add_argument("campaign")
    approve.add_argument("--as-of", type=_date, required=True, help="the night it was held")
    approve.add_argument("--by", default=None, help="who approves (default: $USER)")
    approve.add_argument("--guard", default="volume.guard",
                         choices=("volume.guard", "fair_lending.reach"))
    _common(approve)
    approve.set_defaults(handler=cmd_approve)

    add_backtest_command(commands, _common)
    return parser


def _skip_final_collection() -> None:
    """Python's last garbage collection at exit walks every object the process made (Dagster's
    run, dbt's manifest, GX, pandas): 3 to 7 s of CPU after `done`, for memory the OS takes back
    anyway. Frozen objects are left out of it; atexit runs this before that collection."""
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    atexit.unregister(_skip_final_collection)  # once, however often main() runs
    atexit.register(_skip_final_collection)
    # Our progress lines only; Dagster, dbt and GX keep their own logs.
    xsell_log = logging.getLogger("xsell")
    if not xsell_log.handlers:  # main() may run many times in one process (tests, loops)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("xsell %(message)s"))
        xsell_log.addHandler(handler)
    xsell_log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    xsell_log.propagate = False
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
