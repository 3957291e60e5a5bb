"""The `xsell backtest` subcommand: its arguments and its handler (imports stay lazy, so the
other commands do not pay for them)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from pipelines.lib.paths import PROJECT_ROOT

DEFAULT_REALDATA = PROJECT_ROOT.parent / "shared" / "realdata"  # beside the checkout
DEFAULT_BACKTEST_OUT = Path("exports/backtest")


def cmd_backtest(args: argparse.Namespace) -> int:
    from pipelines.lib.realdata import RealDataFormatError

    from .command import parse_month, run_backtest
    from .report import text_table, write_outputs

    try:
        result = run_backtest(args.input, args.campaign, parse_month(args.from_month),
                              parse_month(args.to_month))
    except (FileNotFoundError, RealDataFormatError, ValueError) as problem:
        print(f"xsell backtest: {problem}", file=sys.stderr)
        return 2
    print(text_table(result.scores))
    for path in write_outputs(result.scores, result.signals, result.meta, args.out):
        print(f"wrote {path}")
    return 0


def add_backtest_command(commands: argparse._SubParsersAction,
                         common: Callable[[argparse.ArgumentParser], None]) -> None:
    backtest = commands.add_parser(
        "backtest", help="replay a campaign's rules on real loan history, point in time")
    backtest.add_argument("--campaign", default="refinance",
                          help="the campaign whose rules are replayed (default refinance)")
    backtest.add_argument("--from", dest="from_month", required=True, help="first month, YYYY-MM")
    backtest.add_argument("--to", dest="to_month", required=True, help="last month, YYYY-MM")
    backtest.add_argument("--input", type=Path, default=DEFAULT_REALDATA,
                          help="the real-data folder in shared/realdata's layout (default "
                          f"{DEFAULT_REALDATA})")
    backtest.add_argument("--out", type=Path, default=DEFAULT_BACKTEST_OUT,
                          help=f"where the CSV, JSON and HTML go (default {DEFAULT_BACKTEST_OUT})")
    common(backtest)  # taken like every command's; the replay itself works in memory
    backtest.set_defaults(handler=cmd_backtest)
