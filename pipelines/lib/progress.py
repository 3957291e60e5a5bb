"""One progress line per stage, to stderr; ids and counts only, never personal data."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("xsell")


def stage(name: str, message: str) -> None:
    log.info("%-10s %s", name, message)


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started
