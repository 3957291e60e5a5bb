"""The compliance register as typed data: each rule's id, its decision and its parameters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from pipelines.lib.paths import ASSETS_DIR

REGISTER_PATH = ASSETS_DIR / "compliance" / "register.yaml"

# The per-message decisions, strictest first (COMPLIANCE.md "Decisions").
DECISIONS: tuple[str, ...] = ("hold", "suppress", "block", "defer", "send")
DECISION_RANK: dict[str, int] = {d: i for i, d in enumerate(DECISIONS)}
# `refuse_load` stops a campaign before any message exists, so it sorts before every message
# decision when rules are ranked.
DECISION_RANK["refuse_load"] = -1

RuleDecision = Literal["refuse_load", "hold", "suppress", "block", "defer"]


class Rule(BaseModel):
    """One row of the register."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    decision: RuleDecision
    cite: str = ""
    params: dict[str, Any] = {}
    data: str | None = None


class Register:
    """The rules by id. Identity-hashed, so a gate can cache what it derives from one."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in self.rules:
                raise ValueError(f"register: rule id {rule.id!r} appears twice")
            self.rules[rule.id] = rule

    def __getitem__(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise KeyError(f"rule {rule_id!r} is not in the compliance register") from None

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self.rules

    def decision(self, rule_id: str) -> str:
        return self[rule_id].decision

    def params(self, rule_id: str) -> Mapping[str, Any]:
        return self[rule_id].params

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Register:
        return cls(Rule.model_validate(r) for r in raw["rules"])


def load_register(path: Path = REGISTER_PATH) -> Register:
    return Register.from_mapping(yaml.safe_load(path.read_text()))


def strictest(decisions: Iterable[str]) -> str:
    """The decision that wins among several: hold < suppress < block < defer < send."""
    return min(decisions, key=DECISION_RANK.__getitem__, default="send")
