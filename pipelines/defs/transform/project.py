"""The dbt project, kept in its own module as dagster-dbt's packaging expects."""

from __future__ import annotations

import os

from dagster_dbt import DbtProject

from pipelines.lib.dbt_manifest import ensure_manifest
from pipelines.lib.paths import DBT_PROJECT_DIR

TARGET = os.getenv("XSELL_TARGET", "duckdb")
xsell_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=TARGET)
ensure_manifest(DBT_PROJECT_DIR, xsell_dbt.manifest_path, TARGET)
