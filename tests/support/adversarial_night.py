"""Helpers for the adversarial suites: the real `xsell` command, landing zones, night snapshots.

Every run here goes through the installed console script in a subprocess, as an operator or a
scheduler would start it. The dbt manifest is re-parsed whenever the warehouse path changes
(pipelines/lib/dbt_manifest.py keys the parse on it), so suites that run many nights run them in
one fixed folder, a `Slot`, and copy state in and out of it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

XSELL = str(Path(sys.executable).parent / "xsell")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 900  # seconds; a night takes ~15-40 s, far longer on a loaded machine

# The progress lines `xsell run` prints to stderr, in order (pipelines/lib/progress.py).
STAGES = ("start", "ingest", "validate", "transform", "outreach", "publish", "export", "done")


# --- the command


def xsell(*args: str, timeout: float = RUN_TIMEOUT, verbose: bool = False,
          ) -> subprocess.CompletedProcess:
    """`xsell [-v] ARGS` in a subprocess, from the project root; stdout and stderr as text."""
    command = [XSELL, *(["-v"] if verbose else []), *args]
    return subprocess.run(command, check=False, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=timeout, env=_env())


def run_args(zone: Path, warehouse: Path, out: Path, as_of: date) -> list[str]:
    return ["run", "--input", str(zone), "--warehouse", str(warehouse), "--out", str(out),
            "--as-of", as_of.isoformat()]


def run_night(zone: Path, warehouse: Path, out: Path, as_of: date, *, verbose: bool = False,
              ) -> subprocess.CompletedProcess:
    return xsell(*run_args(zone, warehouse, out, as_of), verbose=verbose)


def start_night(zone: Path, warehouse: Path, out: Path, as_of: date) -> subprocess.Popen:
    """`xsell run` started in its own session (so its dbt child can be killed with it)."""
    return subprocess.Popen([XSELL, *run_args(zone, warehouse, out, as_of)], cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=_env())


class Progress:
    """Reads a started run's stderr as it comes: which progress lines it printed so far."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def saw(self, stage: str) -> bool:
        return any(line.startswith(f"xsell {stage} ") for line in list(self.lines))

    def finish(self, timeout: float = RUN_TIMEOUT) -> tuple[int, str]:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=30)
        return code, "\n".join(self.lines)


def session_processes(session: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes in a session (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) != session or fields[0] == "Z":
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        found.append((int(entry.name), command))
    return found


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("XSELL_WAREHOUSE", None)  # the command line decides, never a leftover variable
    env["PYTHONUNBUFFERED"] = "1"  # progress lines arrive as they are written
    env.setdefault("GX_ANALYTICS_ENABLED", "false")
    return env


def ok(done: subprocess.CompletedProcess) -> str:
    """The tail of a run's output, for an assertion message."""
    return f"exit {done.returncode}\n--- stderr ---\n{done.stderr[-4000:]}"


def audit_verify(warehouse: Path, out: Path | None = None) -> subprocess.CompletedProcess:
    """`xsell audit verify` against the send files' manifests under `out` (by default the
    `out/` beside the warehouse, as in a Slot)."""
    out = warehouse.parent / "out" if out is None else out
    return xsell("audit", "verify", "--warehouse", str(warehouse), "--out", str(out),
                 timeout=300)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL a run started by `start_night` and every process of its session (dbt)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


# --- landing zones


def sample_zone(folder: Path, as_of: date, loans: int = 150, seed: int = 3) -> Path:
    """The synthetic landing zone (`xsell sample`): every source, valid, with planted cases."""
    from pipelines.lib.sample import write_sample

    write_sample(folder, loans=loans, seed=seed, as_of=as_of)
    return folder


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def csv_line(values: Iterable[str], newline: str = "\n") -> str:
    """One RFC 4180 record: a field holding a comma, a quote, CR or LF is quoted. (Python's csv
    writer leaves a bare CR unquoted when lines end in LF, which makes another line.)"""
    fields = []
    for value in values:
        text = "" if value is None else str(value)
        if any(ch in text for ch in ',"\r\n'):
            text = '"' + text.replace('"', '""') + '"'
        fields.append(text)
    return ",".join(fields) + newline


def write_csv(path: Path, header: list[str], rows: Iterable[dict[str, str]],
              newline: str = "\n") -> None:
    lines = [csv_line(header, newline)]
    lines += (csv_line((row.get(c, "") for c in header), newline) for row in rows)
    path.write_bytes("".join(lines).encode("utf-8"))


def edit_csv(path: Path, change: Callable[[list[str], list[dict[str, str]]], object]) -> None:
    """Read a landing CSV, let `change(header, rows)` edit them in place, write it back."""
    header, rows = read_csv(path)
    change(header, rows)
    write_csv(path, header, rows)


# --- files and warehouses


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file under folder (hidden ones included) -> its SHA-256."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.relative_to(folder).as_posix().startswith(skip)}


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def audit_log(warehouse: Path) -> list[tuple]:
    return query(warehouse, "select * from outreach.messages order by seq")


def staging_folders(out: Path) -> list[Path]:
    return sorted(p for p in out.glob(".*.staging-*")) if out.exists() else []


@dataclass
class Slot:
    """One fixed folder where nights run: `warehouse.duckdb` and `out/`, copied in and out."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def out(self) -> Path:
        return self.root / "out"

    def clear(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)

    def load(self, snapshot: Path | None) -> None:
        """Start from a saved snapshot (or from nothing)."""
        self.clear()
        if snapshot is not None:
            shutil.copytree(snapshot, self.root, dirs_exist_ok=True, symlinks=True)

    def save(self, snapshot: Path) -> Path:
        """Copy the warehouse and out/ (not the lock file) to snapshot."""
        if snapshot.exists():
            shutil.rmtree(snapshot)
        snapshot.mkdir(parents=True)
        if self.warehouse.exists():
            shutil.copy2(self.warehouse, snapshot / self.warehouse.name)
        if self.out.exists():
            shutil.copytree(self.out, snapshot / "out", symlinks=True)
        return snapshot


def wait_for(predicate: Callable[[], bool], timeout: float, every: float = 0.002) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
