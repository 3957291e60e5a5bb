"""Render the dbt project's own macros and vars outside dbt, so a backtest compiles campaign
conditions and money formulas from the same source as the nightly build.

Only macro files that need nothing of dbt's context beyond `var`, `adapter.quote`,
`modules.re` and `exceptions.raise_compiler_error` are loaded; a macro that reaches for more
fails loudly (StrictUndefined) rather than compile something different.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import yaml

from pipelines.lib.paths import DBT_PROJECT_DIR

MACRO_FILES = ("campaign_conditions.sql", "money.sql")


class MacroError(ValueError):
    """A macro refused its input (the dbt build would refuse it the same way)."""


def _raise(message: str) -> None:
    raise MacroError(message)


@cache
def project_vars(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, Any]:
    """The `vars:` of dbt_project.yml (feature constants such as max_cltv)."""
    return yaml.safe_load((project_dir / "dbt_project.yml").read_text())["vars"]


def _var(name: str, default: Any = None) -> Any:
    found = project_vars()
    if name not in found and default is None:
        raise MacroError(f"dbt var {name!r} is not in dbt_project.yml")
    return found.get(name, default)


@cache
def macros(project_dir: Path = DBT_PROJECT_DIR) -> SimpleNamespace:
    """The macros of MACRO_FILES as `xsell.<name>(...)`, callable from Python and templates."""
    xsell = SimpleNamespace()
    context = {
        "xsell": xsell,
        "var": _var,
        "adapter": SimpleNamespace(quote=lambda name: f'"{name}"'),  # DuckDB quoting
        "modules": SimpleNamespace(re=re),
        "exceptions": SimpleNamespace(raise_compiler_error=_raise),
    }
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    for name in MACRO_FILES:
        source = (project_dir / "macros" / name).read_text()
        module = env.from_string(source, globals=context).module
        for attr in dir(module):
            value = getattr(module, attr)
            if isinstance(value, jinja2.runtime.Macro):
                setattr(xsell, attr, value)
    return xsell


def condition_met_sql(node: dict[str, Any]) -> str:
    """SQL for a campaign condition (as `Campaign.as_dbt_var()` gives it): true when met,
    false when not or unknown (a null feature), exactly as the audience macro writes it."""
    return str(macros().condition_met(node)).strip()


def render(template: str, **values: Any) -> str:
    """A SQL template that may call `xsell.<macro>` and `var()`, rendered to plain SQL."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return env.from_string(template).render(xsell=macros(), var=_var, **values)
