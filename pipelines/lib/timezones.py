"""A borrower's time zone: their own field, else the mailing ZIP's, else a state's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import yaml

from pipelines.lib.paths import ASSETS_DIR

STATE_TIME_ZONES_PATH = ASSETS_DIR / "compliance" / "state_time_zones.yaml"

PACIFIC_TERRITORIES = frozenset({"GU", "MP", "AS"})

ZipLookup = Callable[[str], "str | None"]


class ZoneResolution(NamedTuple):
    """The zones a borrower may be in, the one most likely first, and how they were found."""

    zones: tuple[str, ...]
    method: str  # borrower | zip | mailing_state | property_state | unknown


def is_zone(name: str | None) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def load_state_time_zones(path: Path = STATE_TIME_ZONES_PATH) -> dict[str, tuple[str, ...]]:
    raw = yaml.safe_load(path.read_text())
    table = {state: tuple(zones) for state, zones in raw.items()}
    bad = sorted(z for zones in table.values() for z in zones if not is_zone(z))
    if bad:
        raise ValueError(f"{path}: not IANA time zones: {bad}")
    return table


class TimezoneResolver:
    """Resolves and caches zones; one instance serves a whole night."""

    def __init__(
        self,
        state_zones: Mapping[str, tuple[str, ...]] | None = None,
        zip_lookup: ZipLookup | None = None,
    ) -> None:
        self.state_zones = dict(state_zones if state_zones is not None else load_state_time_zones())
        self.zip_lookup = zip_lookup
        # With nothing known the window must hold wherever a borrower could be: every zone of
        # the states, DC, PR and VI, Eastern (the most common) first. The Pacific territories
        # lie across the date line, where no one hour is inside the window everywhere.
        everywhere = dict.fromkeys(
            z
            for state, zones in self.state_zones.items()
            if state not in PACIFIC_TERRITORIES
            for z in zones
        )
        everywhere.pop("America/New_York", None)
        self.unknown = ZoneResolution(("America/New_York", *sorted(everywhere)), "unknown")
        self._cache: dict[tuple, ZoneResolution] = {}

    def resolve(
        self,
        timezone: str | None,
        mailing_zip: str | None = None,
        mailing_state: str | None = None,
        property_state: str | None = None,
    ) -> ZoneResolution:
        key = (timezone, mailing_zip, mailing_state, property_state)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(*key)
        return found

    def _resolve(self, timezone, mailing_zip, mailing_state, property_state) -> ZoneResolution:
        # An unusable value (a misspelt zone, an unknown state) falls through to the next
        # source rather than failing the message.
        if is_zone(timezone):
            return ZoneResolution((timezone,), "borrower")
        if mailing_zip and self.zip_lookup is not None:
            zone = self.zip_lookup(mailing_zip)
            if is_zone(zone):
                return ZoneResolution((zone,), "zip")
        for state, method in ((mailing_state, "mailing_state"), (property_state, "property_state")):
            zones = self.state_zones.get((state or "").upper())
            if zones:
                return ZoneResolution(zones, method)
        return self.unknown
