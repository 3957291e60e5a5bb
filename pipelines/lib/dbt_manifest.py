"""Keep dbt's manifest current, so the asset graph can be built on a fresh checkout."""

from __future__ import annotations

from pathlib import Path


def _newest_source(project_dir: Path) -> float:
    files = [
        p for folder in ("models", "macros", "tests") for p in (project_dir / folder).rglob("*")
        if p.is_file()
    ] + [project_dir / "dbt_project.yml"]
    return max(p.stat().st_mtime for p in files)


def ensure_manifest(project_dir: Path, manifest_path: Path) -> None:
    """Run `dbt parse` in-process when the manifest is missing or older than the project."""
    if manifest_path.exists() and manifest_path.stat().st_mtime >= _newest_source(project_dir):
        return
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        ["parse", "--quiet", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    )
    if not result.success:
        raise RuntimeError(f"dbt parse failed for {project_dir}: {result.exception}")
