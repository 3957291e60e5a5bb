"""Synthetic landing zone: `write_sample` writes all 12 INPUTS.md sources for any book size."""

from .cases import plant
from .generate import DEFAULT_TEMPLATES_DIR, SOURCE_NAMES, build_landing_zone, write_sample

__all__ = ["DEFAULT_TEMPLATES_DIR", "SOURCE_NAMES", "build_landing_zone", "plant", "write_sample"]
