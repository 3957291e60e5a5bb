"""The send files of a night: CSVs a delivery vendor reads, a manifest, all written atomically.

Rows are mappings holding exactly the file's columns (SEND_FILES). Cells are written as:
None -> empty; bool -> true/false; int, float, Decimal -> the number as is (a negative number
stays a number: only text can carry a formula); date/datetime -> ISO; list/tuple -> items
joined by ";"; text -> guarded against formula injection: a cell beginning with =, +, -, @,
tab or carriage return gets a leading single quote. Phone columns are exempt when the value
is a valid E.164 number (a bare "+digits" is no formula a spreadsheet can abuse, and a quote
would break the vendor's dialing); any other value there is guarded like text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

COMMON = ("message_id", "borrower_id", "campaign_id", "step", "scheduled_for")
SEND_FILES: dict[str, tuple[str, ...]] = {
    "email.csv": (
        *COMMON,
        "to_email",
        "from_email",
        "reply_to",
        "subject",
        "body_text",
        "body_html",
        "unsubscribe_url",
        "list_unsubscribe",
    ),
    "sms.csv": (*COMMON, "to_phone", "body_text"),
    "call_list.csv": (*COMMON, "to_phone", "loan_officer_id", "script_text"),
    "direct_mail.csv": (*COMMON, "name", "address", "city", "state", "zip", "body_text"),
    "lo_call_list.csv": (
        "loan_officer_id",
        "borrower_id",
        "loan_id",
        "to_phone",
        "engagement_score",
        "campaigns",
        "talking_points",
    ),
}
# Sort keys: message_id is unique per message; the officer's list has none, so it sorts by
# officer, borrower and loan, which is unique per alert.
SORT_KEYS = {name: ("message_id",) for name in SEND_FILES} | {
    "lo_call_list.csv": ("loan_officer_id", "borrower_id", "loan_id")
}
MANIFEST = "manifest.json"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PHONE_COLUMNS = frozenset({"to_phone"})
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
FILE_MODE, DIR_MODE = 0o600, 0o700
LINES_A_PIECE = 1000  # lines written and hashed as one piece
NEEDS_QUOTES = re.compile('[,"\r\n]')  # a cell holding any of these is quoted (RFC 4180)


class FileEntry(NamedTuple):
    rows: int
    sha256: str


def cell(value: Any, column: str = "") -> str | int | float | Decimal:
    """One value as the CSV writer should see it, with text guarded against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    text = str(value)
    if column in PHONE_COLUMNS and E164.fullmatch(text):
        return text
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(name: str, rows: Iterable[Mapping[str, Any]]) -> tuple[bytes, int]:
    """A send file's bytes (header first, rows sorted, LF endings) and its row count."""
    lines, count = csv_lines(name, rows)
    return b"".join(lines), count


def csv_lines(name: str, rows: Iterable[Mapping[str, Any]]) -> tuple[Iterator[bytes], int]:
    """csv_bytes a line at a time, so a big file is never held whole; the rows are checked
    (columns, unique keys) before the first line is made."""
    columns = SEND_FILES[name]
    wanted = set(columns)
    checked = []
    for i, row in enumerate(rows):
        if set(row) != wanted:
            missing, extra = sorted(wanted - set(row)), sorted(set(row) - wanted)
            raise ValueError(f"{name} row {i}: missing columns {missing}, unexpected {extra}")
        checked.append(row)
    sort_key = SORT_KEYS[name]
    checked.sort(key=lambda r: tuple(str(r[k]) for k in sort_key))
    keys = [tuple(r[k] for k in sort_key) for r in checked]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{name}: duplicate rows for key {sort_key}")

    def lines() -> Iterator[bytes]:
        yield _line(columns).encode("utf-8")
        for start in range(0, len(checked), LINES_A_PIECE):
            yield "".join(_line([cell(r[c], c) for c in columns])
                          for r in checked[start:start + LINES_A_PIECE]).encode("utf-8")
    return lines(), len(checked)


def _line(values: Iterable[Any]) -> str:
    # RFC 4180 quoting done here rather than by the csv module, whose minimal quoting leaves a
    # lone carriage return unquoted when lines end in LF, and a reader would split the row.
    fields = []
    for value in values:
        text = str(value)
        if NEEDS_QUOTES.search(text):
            text = '"' + text.replace('"', '""') + '"'
        fields.append(text)
    return ",".join(fields) + "\n"


def write_atomic(path: Path, data: bytes | Iterable[bytes]) -> str:
    """Write a file that appears whole or not at all, readable by its owner only; `data` is
    the bytes or pieces of them. Returns the SHA-256 of what was written."""
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)
            for piece in [data] if isinstance(data, bytes) else data:
                f.write(piece)
                digest.update(piece)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries (after a rename), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def staging_dir(out_root: Path, as_of: date) -> Path:
    """A fresh private folder beside `<out>/<as_of>/` to write the night's files into."""
    out_root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=out_root, prefix=f".{as_of.isoformat()}.staging-"))
    os.chmod(path, DIR_MODE)
    return path


def write_send_files(
    directory: Path,
    rows_by_file: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    run_id: str,
    code_version: str,
    template_hashes: Mapping[str, str],
    extra_files: Iterable[str] = (),
    audit_chain: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every send file (header only where there are no rows) and the manifest; returns it.

    extra_files: names of files already in `directory` (report.html) to list in the manifest.
    audit_chain: the audit chain's head after the night ({"records": n, "head": hash}), kept
    in the manifest as an anchor outside the warehouse (`xsell audit verify --out`).
    """
    unknown = set(rows_by_file) - set(SEND_FILES)
    if unknown:
        raise ValueError(f"not send files: {sorted(unknown)}")
    os.chmod(directory, DIR_MODE)
    files: dict[str, dict[str, Any]] = {}
    for name in SEND_FILES:
        lines, count = csv_lines(name, rows_by_file.get(name, ()))
        files[name] = FileEntry(count, write_atomic(directory / name, lines))._asdict()
    for name in extra_files:
        data = (directory / name).read_bytes()
        files[name] = {"rows": None, "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {
        "run_id": run_id,
        "code_version": code_version,
        "files": files,
        "template_hashes": dict(template_hashes),
    }
    if audit_chain is not None:
        manifest["audit_chain"] = dict(audit_chain)
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    write_atomic(directory / MANIFEST, text.encode("utf-8"))
    return manifest


def publish_dir(tmp_dir: Path, final_dir: Path) -> None:
    """Make the finished folder appear at `final_dir` in one rename.

    Published files are never replaced (a vendor may have taken them): a folder already there
    with the same bytes stays as it is, one with other bytes is an error.
    """
    os.chmod(tmp_dir, DIR_MODE)
    if final_dir.exists():
        if not _same_files(tmp_dir, final_dir):
            raise FileExistsError(f"{final_dir} already holds other send files; not replaced")
        shutil.rmtree(tmp_dir)
        return
    os.rename(tmp_dir, final_dir)
    fsync_path(final_dir.parent)


def _same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names
    )
