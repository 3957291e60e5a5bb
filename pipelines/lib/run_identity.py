"""A night's identity: the code version and a run_id derived from what went in, not the clock."""

from __future__ import annotations

import hashlib
from datetime import date
from functools import cache
from importlib.metadata import version
from pathlib import Path

from pipelines.lib.landing import landing_fingerprint
from pipelines.lib.paths import PROJECT_ROOT


@cache
def code_version() -> str:
    """The package version plus a digest of the code and SQL that decide what is sent."""
    digest = hashlib.sha256()
    for folder, pattern in (("pipelines", "*.py"), ("dbt_project/models", "*"),
                            ("dbt_project/macros", "*")):
        for path in sorted((PROJECT_ROOT / folder).rglob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    return f"{version('xsell')}+{digest.hexdigest()[:12]}"


def run_id(as_of: date, landing: Path) -> str:
    """Same as_of, same input files, same code: same run_id, so a rerun writes the same bytes."""
    seed = f"{as_of.isoformat()}|{landing_fingerprint(landing)}|{code_version()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:20]
