"""Append Python rows to a DuckDB table in one statement (executemany goes row by row)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows, given in `columns` order, through an Arrow table: DuckDB casts each column
    to the target's type by name."""
    if not rows:
        return
    insert_columns(con, table, {c: [r[i] for r in rows] for i, c in enumerate(columns)})


def insert_columns(con: duckdb.DuckDBPyConnection, table: str,
                   columns: Mapping[str, Sequence[Any]]) -> None:
    """insert_rows for values already gathered by column (name -> values, of equal length)."""
    arrow_rows = pa.table({c: pa.array(values) for c, values in columns.items()})
    if not arrow_rows.num_rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    con.register("bulk_rows", arrow_rows)
    try:
        con.execute(f"insert into {table} ({names}) select {names} from bulk_rows")
    finally:
        con.unregister("bulk_rows")
