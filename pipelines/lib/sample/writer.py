"""Writes landing-zone frames as CSV (the INPUTS.md dialect) or Parquet, one file per source."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import polars as pl

FORMATS = ("csv", "parquet")


def write_source(frame: pl.DataFrame, out_dir: Path, source: str, fmt: str) -> None:
    target = out_dir / f"{source}.{fmt}"
    partial = out_dir / f".{source}.{fmt}.partial"
    if fmt == "csv":
        frame.write_csv(
            partial,
            include_header=True,
            separator=",",
            line_terminator="\n",
            date_format="%Y-%m-%d",
            # Every timestamp is UTC and whole seconds.
            datetime_format="%Y-%m-%dT%H:%M:%SZ",
            null_value="",
        )
    else:
        # Level 1: most of zstd's size saving at a third of the default level's time.
        frame.write_parquet(partial, compression="zstd", compression_level=1, statistics=True)
    # A reader never sees half a file.
    os.replace(partial, target)
    # A zone holding loans.csv and loans.parquet from an earlier run would be two sources.
    for other in FORMATS:
        if other != fmt:
            (out_dir / f"{source}.{other}").unlink(missing_ok=True)


def write_as_of(out_dir: Path, as_of: date) -> None:
    (out_dir / "_as_of").write_bytes(f"{as_of.isoformat()}\n".encode())
