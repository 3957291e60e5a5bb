"""Where the project's own files live, and the defaults every command shares."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "assets"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"



def templates_dir() -> Path:
    """The message templates: the project's own, or XSELL_TEMPLATES (a lender's checkout)."""
    return Path(os.getenv("XSELL_TEMPLATES", str(TEMPLATES_DIR)))


DEFAULT_INPUT = Path("data/sample")
DEFAULT_WAREHOUSE = Path("warehouse.duckdb")
DEFAULT_OUT = Path("exports")
# Under --out, what a dry run writes (its report and validation result): never a send file.
PREVIEW_FOLDER = "preview"
