"""When a message may go out on its send day: calling windows (tcpa.hours), email and mail times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import holidays
import yaml

from pipelines.lib.paths import ASSETS_DIR

CALLING_WINDOWS_PATH = ASSETS_DIR / "compliance" / "calling_windows.yaml"

CALL_AT = time(10, 0)  # sms and phone: 10:00 local, or the window's opening if later
EMAIL_AT = time(9, 0)
CALL_CHANNELS = frozenset({"sms", "phone", "lo_call"})
# How far ahead to look for the next day with a window; RI's Sunday plus a Monday holiday
# is the longest run of closed days in the table, so two weeks only runs out on bad data.
SEARCH_DAYS = 14

Window = tuple[time, time]  # [open, close) local time


class Slot(NamedTuple):
    """Where a message lands: its time, or the next day it could go out (None when deferred)."""

    scheduled_for: datetime | date | None  # aware datetime; a date for mail
    next_allowed_day: date | None = None


def _clock(text: str) -> time:
    return time.fromisoformat(text)


def _window(value: Any, where: str) -> Window | None:
    if value == "closed":
        return None
    open_, close = (_clock(v) for v in value)
    if open_ >= close:
        raise ValueError(f"calling windows: {where}: opens at {open_} but closes at {close}")
    return open_, close


class CallingWindows:
    """The federal and state windows, with the federal holiday calendar, observed days included."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        federal = data["federal"]
        self.federal: Window = (_clock(federal["open"]), _clock(federal["close"]))
        self.states: dict[str, dict[str, Any]] = {}
        for state, rules in (data.get("states") or {}).items():
            unknown = set(rules) - {"all_days", "weekdays", "saturday", "sunday", "holidays"}
            if unknown:
                raise ValueError(f"calling windows: {state}: unknown keys {sorted(unknown)}")
            parsed = {k: _window(v, f"{state}.{k}") for k, v in rules.items() if k != "holidays"}
            parsed["holidays_closed"] = rules.get("holidays") == "closed"
            self.states[state] = parsed
        self._holidays = holidays.US()  # federal list; observed days are in it by default
        self._cache: dict[tuple, datetime | None] = {}

    @classmethod
    def load(cls, path: Path = CALLING_WINDOWS_PATH) -> CallingWindows:
        return cls(yaml.safe_load(path.read_text()))

    def is_holiday(self, day: date) -> bool:
        return day in self._holidays

    def window(self, day: date, state: str | None) -> Window | None:
        """The day's window in a state's local time, narrowed to the federal one; None: no calls."""
        rules = self.states.get(state or "")
        if rules is None:
            return self.federal
        if rules["holidays_closed"] and self.is_holiday(day):
            return None
        kind = {5: "saturday", 6: "sunday"}.get(day.weekday(), "weekdays")
        window = rules[kind] if kind in rules else rules.get("all_days", self.federal)
        if window is None:
            return None
        open_, close = max(window[0], self.federal[0]), min(window[1], self.federal[1])
        return (open_, close) if open_ < close else None

    def call_time(self, day: date, zones: tuple[str, ...], state: str | None) -> datetime | None:
        """The instant to call or text on `day`, in the first zone's offset; None when none fits."""
        key = (day, zones, state)
        if key not in self._cache:
            self._cache[key] = self._call_time(day, zones, state)
        return self._cache[key]

    def _call_time(self, day: date, zones: tuple[str, ...], state: str | None) -> datetime | None:
        window = self.window(day, state)
        if window is None:
            return None
        open_, close = window
        tzs = [ZoneInfo(z) for z in zones]
        # 10:00 where the borrower most likely is, pushed later until the window has opened in
        # every zone they might be in; then it must still be before closing everywhere.
        at = datetime.combine(day, max(CALL_AT, open_), tzs[0])
        for tz in tzs:
            at = max(at, datetime.combine(day, open_, tz))
        for tz in tzs:
            local = at.astimezone(tz)
            if local.date() != day or not open_ <= local.time() < close:
                return None
        return at.astimezone(tzs[0])

    def next_allowed_day(self, day: date, zones: tuple[str, ...], state: str | None) -> date | None:
        """The first day after `day` with a feasible call time; None if none within two weeks."""
        for ahead in range(1, SEARCH_DAYS + 1):
            later = day + timedelta(days=ahead)
            if self.call_time(later, zones, state) is not None:
                return later
        return None

    def slot(self, channel: str, day: date, zones: tuple[str, ...], state: str | None) -> Slot:
        """The scheduled time of a message on its send day, or the day a deferred one could go."""
        if channel in CALL_CHANNELS:
            at = self.call_time(day, zones, state)
            return (
                Slot(at) if at is not None else Slot(None, self.next_allowed_day(day, zones, state))
            )
        if channel == "email":
            return Slot(datetime.combine(day, EMAIL_AT, ZoneInfo(zones[0])))
        if channel == "mail":
            return Slot(day)  # mail drops on the send day; it has no time
        raise ValueError(f"unknown channel {channel!r}")
