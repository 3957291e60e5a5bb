"""Each run's validation result as a file beside the exports, kept even when the run is refused."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

from pipelines.lib.problems import Problem


def write_validation_report(
    exports: Path, as_of: date, run_id: str, problems: list[Problem]
) -> Path:
    folder = exports / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{as_of.isoformat()}_{run_id}.json"
    body = {
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "outcome": "refused" if any(p.fatal for p in problems) else "accepted",
        "problems": [
            {k: v for k, v in asdict(p).items() if k != "row_ids"} | {"message": p.describe()}
            for p in problems
        ],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    tmp.replace(path)
    return path
