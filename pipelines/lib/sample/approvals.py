"""Compliance sign-off rows (template_approvals) for the template files that exist today."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl

from .schema import conform, empty

REVIEWERS = ("Dana Whitfield (Compliance)", "Marcus Oyelaran (Compliance)")
REVIEW_DAYS_BEFORE_AS_OF = 14


def template_approvals(templates_dir: Path, as_of: date) -> pl.DataFrame:
    """One `approved` row per *.j2 file, hashing the bytes a reviewer would have read."""
    if not templates_dir.is_dir():
        return empty("template_approvals")
    files = sorted(
        (path.relative_to(templates_dir).as_posix(), path)
        for path in templates_dir.rglob("*.j2")
        if path.is_file()
    )
    if not files:
        return empty("template_approvals")
    review_day = datetime.combine(
        as_of - timedelta(days=REVIEW_DAYS_BEFORE_AS_OF), time(16), tzinfo=UTC
    )
    rows = [
        {
            "template_id": template_id,
            "template_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "status": "approved",
            "reviewed_by": REVIEWERS[n % len(REVIEWERS)],
            "reviewed_at": review_day + timedelta(minutes=n),
        }
        for n, (template_id, path) in enumerate(files)
    ]
    return conform("template_approvals", pl.DataFrame(rows))
