"""Keep dbt's manifest current, so the asset graph builds on a fresh checkout and each night's
`dbt build` reuses the parse (dbt re-parses everything when the vars differ from the parse's)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.dbt_args import dbt_vars


def _newest_source(project_dir: Path) -> float:
    files = [
        p for folder in ("models", "macros", "tests") for p in (project_dir / folder).rglob("*")
        if p.is_file()
    ] + [project_dir / "dbt_project.yml"]
    return max(p.stat().st_mtime for p in files)


def ensure_manifest(project_dir: Path, manifest_path: Path, target: str) -> None:
    """Run `dbt parse` in-process, with the nightly vars and target, when the manifest is
    missing, older than the project, or was parsed with other campaign settings."""
    variables = json.dumps(dbt_vars(load_campaigns()), sort_keys=True)
    # dbt also re-parses when the rendered profile changes, and the profile holds the path;
    # and when the --target differs (it hashes the argument with the vars), so the parse names
    # the target each night's `dbt build` names.
    parse_key = json.dumps({"vars": variables, "warehouse": os.getenv("XSELL_WAREHOUSE"),
                            "target": target})
    parsed_with = manifest_path.with_name("xsell_parse_key.json")
    if (manifest_path.exists() and parsed_with.exists()
            and parsed_with.read_text() == parse_key
            and manifest_path.stat().st_mtime >= _newest_source(project_dir)):
        return
    from dbt.cli.main import dbtRunner

    # Parse into a private folder and move the files in whole: another process (a night on
    # another warehouse) may be reading the manifest or parsing at the same moment.
    folder = manifest_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=folder))
    try:
        result = dbtRunner().invoke(
            ["parse", "--quiet", "--project-dir", str(project_dir), "--profiles-dir",
             str(project_dir), "--target-path", str(scratch), "--vars", variables,
             "--target", target]
        )
        if not result.success:
            raise RuntimeError(f"dbt parse failed for {project_dir}: {result.exception}")
        (scratch / parsed_with.name).write_text(parse_key)
        for name in ("partial_parse.msgpack", manifest_path.name, parsed_with.name):
            os.replace(scratch / name, folder / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def prune_run_targets(target_dir: Path, keep: int = 14, min_age_s: float = 86_400) -> int:
    """Remove dagster-dbt's per-run target folders (`<op>-<run id>-<uuid>`, ~5 MB each, one a
    night) beyond the `keep` newest. A folder touched in the last `min_age_s` stays: another
    night may still be writing it. Returns how many were removed."""
    runs = sorted((p for p in target_dir.glob("*-*-*")
                   if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    cutoff = time.time() - min_age_s
    old = [p for p in runs[keep:] if p.stat().st_mtime < cutoff]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    return len(old)
