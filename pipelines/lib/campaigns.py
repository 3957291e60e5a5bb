"""The campaign configuration model: load, check and hash the lender's campaign files."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.lib.paths import ASSETS_DIR

Channel = Literal["email", "sms", "phone", "mail"]

# The features a condition may name, with the kind of value each compares to. These are the
# columns of the dbt model `int_audience_candidates`; a test keeps the two in step.
FEATURES: dict[str, str] = {
    "status": "text",
    "servicing_status": "text",
    "loan_purpose": "text",
    "occupancy": "text",
    "property_type": "text",
    "property_state": "text",
    "rate_type": "text",
    "lifecycle_stage": "text",
    "value_method": "text",
    "term_months": "number",
    "note_rate": "number",
    "original_amount": "number",
    "original_value": "number",
    "credit_score": "number",
    "annual_income": "number",
    "months_since_close": "number",
    "days_since_close": "number",
    "days_since_clear_to_close": "number",
    "days_to_rate_reset": "number",
    "current_upb": "number",
    "est_value": "number",
    "current_ltv": "number",
    "upb_to_original_value": "number",
    "available_equity": "number",
    "market_rate": "number",
    "rate_spread_bps": "number",
    "scheduled_payment": "number",
    "new_payment": "number",
    "monthly_savings": "number",
    "breakeven_months": "number",
    "engagement_score": "number",
    "is_investor": "boolean",
    "has_pmi": "boolean",
}

OPERATORS = {"=", "!=", "<", "<=", ">", ">=", "in", "not_in"}


class CampaignConfigError(ValueError):
    """A campaign file that cannot load; the message names the file and the key."""


class Condition(BaseModel):
    """One typed test of a feature: `{feature: months_since_close, op: ">=", value: 24}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    feature: str
    op: str
    value: Any

    @model_validator(mode="after")
    def _typed(self) -> Condition:
        kind = FEATURES.get(self.feature)
        if kind is None:
            raise ValueError(f"feature {self.feature!r} is not in the allow-list")
        if self.op not in OPERATORS:
            raise ValueError(f"operator {self.op!r} is not one of {sorted(OPERATORS)}")
        values = self.value if self.op in ("in", "not_in") else [self.value]
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"operator {self.op} takes a list")
        for v in values:
            ok = {
                "number": isinstance(v, (int, float)) and not isinstance(v, bool),
                "boolean": isinstance(v, bool),
                "text": isinstance(v, str) and v.replace("_", "").isalnum(),
            }[kind]
            if not ok:
                raise ValueError(f"{self.feature} is {kind}; {v!r} is not a {kind} value")
        if kind == "boolean" and self.op not in ("=", "!="):
            raise ValueError(f"{self.feature} is boolean; use = or !=")
        return self

    def describe(self) -> str:
        value = json.dumps(self.value) if not isinstance(self.value, str) else self.value
        return f"{self.feature} {self.op} {value}"

    def features(self) -> set[str]:
        return {self.feature}

    def evaluate(self, row: dict[str, Any]) -> bool | None:
        """As SQL would: a null feature makes the comparison unknown (None)."""
        actual = row.get(self.feature)
        if actual is None:
            return None
        if self.op in ("in", "not_in"):
            return (actual in self.value) == (self.op == "in")
        if isinstance(actual, (int, float, Decimal)) and not isinstance(actual, bool):
            actual, value = Decimal(str(actual)), Decimal(str(self.value))
        else:
            value = self.value
        return {
            "=": actual == value, "!=": actual != value, "<": actual < value,
            "<=": actual <= value, ">": actual > value, ">=": actual >= value,
        }[self.op]


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    any_of: list[ConditionNode]

    def describe(self) -> str:
        return "(" + " or ".join(c.describe() for c in self.any_of) + ")"

    def features(self) -> set[str]:
        return set().union(*(c.features() for c in self.any_of))

    def evaluate(self, row: dict[str, Any]) -> bool | None:
        results = [c.evaluate(row) for c in self.any_of]
        return True if True in results else (None if None in results else False)


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    all_of: list[ConditionNode]

    def describe(self) -> str:
        return "(" + " and ".join(c.describe() for c in self.all_of) + ")"

    def features(self) -> set[str]:
        return set().union(*(c.features() for c in self.all_of))

    def evaluate(self, row: dict[str, Any]) -> bool | None:
        results = [c.evaluate(row) for c in self.all_of]
        return False if False in results else (None if None in results else True)


ConditionNode = Annotated[Condition | AnyOf | AllOf, Field(union_mode="left_to_right")]
AnyOf.model_rebuild()
AllOf.model_rebuild()


class Reenrollment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    after_days: int = Field(gt=0)
    or_spread_grew_bps: float | None = None


class Step(BaseModel):
    """One message of a drip. Flags left unset inherit the campaign's."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    day: int = Field(ge=0)
    channel: Channel
    template: str
    product: str | None = None
    consumer_credit: bool | None = None
    settlement_service_referral: bool | None = None
    partner_referral: bool | None = None

    @field_validator("template")
    @classmethod
    def _template_name(cls, v: str) -> str:
        if not v.replace("_", "").isalnum():
            raise ValueError(f"template {v!r} must be a plain name")
        return v


class FairLendingReview(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    justification: str
    reviewer: str
    reviewed_on: str


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    enabled: bool = True
    product: str | None
    priority: int
    consumer_credit: bool = False
    heloc: bool = False
    settlement_service_referral: bool = False
    partner_referral: bool = False
    reenrollment: Literal["once_per_loan"] | Reenrollment = "once_per_loan"
    max_rate_age_days: int | None = None
    control_share: float = Field(default=0.05, ge=0, lt=1)
    volume_multiple: float = 3.0
    volume_floor: int = 500
    fair_lending_review: FairLendingReview | None = None
    trigger: list[ConditionNode]
    eligibility: list[ConditionNode] = []
    exclude_converted_within_days: int = 365
    steps: list[Step] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not v.replace("_", "").isalnum() or v != v.lower():
            raise ValueError(f"campaign id {v!r} must be lower_snake_case")
        return v

    @model_validator(mode="after")
    def _steps_in_order(self) -> Campaign:
        days = [s.day for s in self.steps]
        if days != sorted(days):
            raise ValueError("steps must be listed in day order")
        return self

    def step_flag(self, step: Step, flag: str) -> bool:
        own = getattr(step, flag)
        return getattr(self, flag) if own is None else own

    def step_product(self, step: Step) -> str | None:
        return step.product or self.product

    def features(self) -> set[str]:
        return set().union(*(c.features() for c in [*self.trigger, *self.eligibility]))

    @cached_property
    def config_sha256(self) -> str:
        return hashlib.sha256(
            json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()

    def as_dbt_var(self) -> dict[str, Any]:
        """What the dbt audience macro reads: the conditions, in a stable order."""
        return {
            "enabled": self.enabled,
            "product": self.product,
            "trigger": [c.model_dump(mode="json") for c in self.trigger],
            "eligibility": [c.model_dump(mode="json") for c in self.eligibility],
            "exclude_converted_within_days": self.exclude_converted_within_days,
            "rule_features": sorted(self.features()),
        }


def protected_attributes(assets_dir: Path = ASSETS_DIR) -> set[str]:
    path = assets_dir / "compliance" / "protected_attributes.yaml"
    return set(yaml.safe_load(path.read_text())["protected_attributes"])


def _walk_features(node: Any) -> list[str]:
    """Every `feature:` a raw YAML condition tree names, before the model checks it."""
    if isinstance(node, dict):
        found = [node["feature"]] if isinstance(node.get("feature"), str) else []
        return found + [f for v in node.values() for f in _walk_features(v)]
    if isinstance(node, list):
        return [f for v in node for f in _walk_features(v)]
    return []


def load_campaign(path: Path, assets_dir: Path = ASSETS_DIR) -> Campaign:
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise CampaignConfigError(f"{path}: a campaign file is a mapping of keys")
    # fair_lending.attributes: checked on the raw tree so the error names the field even
    # though the allow-list would also refuse it.
    banned = protected_attributes(assets_dir)
    for feature in _walk_features([raw.get("trigger"), raw.get("eligibility")]):
        if feature in banned:
            raise CampaignConfigError(
                f"{path}: rule fair_lending.attributes: feature {feature!r} is a protected "
                "attribute or proxy; the campaign does not load"
            )
    try:
        campaign = Campaign.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"key {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise CampaignConfigError(f"{path}: {problems}") from None
    if campaign.id != path.stem:
        raise CampaignConfigError(f"{path}: id {campaign.id!r} must match the file name")
    return campaign


def load_campaigns(assets_dir: Path = ASSETS_DIR) -> dict[str, Campaign]:
    """All campaign files, enabled or not, by id."""
    return {
        p.stem: load_campaign(p, assets_dir)
        for p in sorted((assets_dir / "campaigns").glob("*.yaml"))
    }


def dbt_campaign_vars(campaigns: dict[str, Campaign]) -> dict[str, Any]:
    return {cid: c.as_dbt_var() for cid, c in campaigns.items()}
