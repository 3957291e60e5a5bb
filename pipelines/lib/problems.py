"""A broken input rule, said the way a lender's data team can act on it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    file: str
    source: str
    column: str
    rule: str
    count: int
    examples: tuple[str, ...] = ()
    fatal: bool = True  # False: the rows were quarantined and the run goes on
    row_ids: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def describe(self) -> str:
        shown = "; ".join(self.examples[:5])
        outcome = "" if self.fatal else " (quarantined)"
        return (
            f"{self.file}: column {self.column}: rule {self.rule}: {self.count} row(s){outcome}"
            + (f", e.g. {shown}" if shown else "")
        )


class BadInput(Exception):
    """The landing zone broke a rule; nothing from this run is sent or kept."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = [p.describe() for p in problems]
        super().__init__(
            f"bad input: {len(problems)} rule(s) broken; nothing was sent and the warehouse "
            "is unchanged\n  " + "\n  ".join(lines)
        )
