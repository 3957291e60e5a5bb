"""The settings every stage reads: the warehouse, the landing zone and the export folder."""

from __future__ import annotations

import os
import sys
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version

from pipelines.defs.transform.project import xsell_dbt
from pipelines.lib import warehouse as warehouse_file
from pipelines.lib.paths import DEFAULT_INPUT, DEFAULT_OUT, DEFAULT_WAREHOUSE


class NightSettings(dg.ConfigurableResource):
    """Where a night reads and writes. Defaults come from XSELL_* environment variables, the
    same ones dbt's profiles.yml reads, so every stage sees one warehouse path."""

    warehouse: str = os.getenv("XSELL_WAREHOUSE", str(DEFAULT_WAREHOUSE))
    landing: str = os.getenv("XSELL_INPUT", str(DEFAULT_INPUT))
    exports: str = os.getenv("XSELL_OUT", str(DEFAULT_OUT))
    dry_run: bool = False

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse).resolve()

    @property
    def working_path(self) -> Path:
        """The copy a night writes into before it is published."""
        return warehouse_file.working_path(self.warehouse_path)

    @property
    def landing_path(self) -> Path:
        return Path(self.landing).resolve()

    @property
    def exports_path(self) -> Path:
        return Path(self.exports).resolve()


class InstalledDbt(DbtCliResource):
    """The dbt installed beside this Python. dagster-dbt would learn its version by running
    `dbt --version`: a second dbt start-up, which also asks PyPI for the latest release (6 s a
    night on a busy machine). The installed dbt-core package says the same at once."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))


def dbt_resource(target: str) -> DbtCliResource:
    """dbt on a target of profiles.yml: `duckdb` (the default) or `spark`."""
    return InstalledDbt(
        project_dir=xsell_dbt, profiles_dir=str(xsell_dbt.profiles_dir), target=target,
        # the dbt installed beside this Python, whether or not its bin is on PATH
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"night": NightSettings(), "dbt": dbt_resource(xsell_dbt.target)})
