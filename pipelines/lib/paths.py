"""Where the project's own files live, and the defaults every command shares."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "assets"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"

DEFAULT_INPUT = Path("data/sample")
DEFAULT_WAREHOUSE = Path("warehouse.duckdb")
DEFAULT_OUT = Path("exports")
