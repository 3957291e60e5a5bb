"""Campaign files: what loads, what is refused and why, and how a condition evaluates."""

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from pipelines.lib.campaigns import (
    AnyOf,
    CampaignConfigError,
    Condition,
    load_campaign,
    load_campaigns,
)
from pipelines.lib.paths import ASSETS_DIR

HELOC = yaml.safe_load((ASSETS_DIR / "campaigns" / "heloc.yaml").read_text())


def write(tmp_path: Path, body: dict, name: str = "heloc") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def test_the_default_pack_loads_with_rules_from_rules_md():
    campaigns = {cid: c for cid, c in load_campaigns().items() if c.enabled}
    assert sorted(campaigns) == ["financial_planning", "heloc", "insurance",
                                 "investment_property", "post_close_welcome", "refinance"]
    assert {c.id: c.priority for c in campaigns.values()} == {
        "refinance": 1, "insurance": 2, "post_close_welcome": 3, "heloc": 4,
        "financial_planning": 5, "investment_property": 6}
    steps = [(s.day, s.channel, s.template) for s in campaigns["post_close_welcome"].steps]
    assert steps == [(1, "email", "welcome_congrats"), (7, "email", "homeowner_tips"),
                     (14, "email", "insurance_partner_intro"),
                     (180, "email", "home_equity_education")]


def test_unknown_key_is_refused_naming_it(tmp_path):
    with pytest.raises(CampaignConfigError, match="key priorty"):
        load_campaign(write(tmp_path, HELOC | {"priorty": 3}))


def test_wrong_type_is_refused_naming_the_key(tmp_path):
    with pytest.raises(CampaignConfigError, match="key priority"):
        load_campaign(write(tmp_path, HELOC | {"priority": "high"}))


def test_feature_outside_the_allow_list_is_refused(tmp_path):
    body = HELOC | {"eligibility": [{"feature": "favourite_colour", "op": "=", "value": "red"}]}
    with pytest.raises(CampaignConfigError, match="favourite_colour"):
        load_campaign(write(tmp_path, body))


@pytest.mark.parametrize("field", ["marital_status", "age", "minority_pct", "last_name"])
def test_protected_attribute_stops_the_campaign_loading(tmp_path, field):
    body = HELOC | {"eligibility": [{"any_of": [
        {"feature": "occupancy", "op": "=", "value": "primary"},
        {"feature": field, "op": "=", "value": 1}]}]}
    with pytest.raises(CampaignConfigError, match=f"fair_lending.attributes.*'{field}'"):
        load_campaign(write(tmp_path, body))


def test_text_values_cannot_carry_sql(tmp_path):
    body = HELOC | {"eligibility": [{"feature": "occupancy", "op": "=",
                                     "value": "primary' or 1=1 --"}]}
    with pytest.raises(CampaignConfigError, match="occupancy is text"):
        load_campaign(write(tmp_path, body))


def test_number_feature_refuses_a_string(tmp_path):
    body = HELOC | {"trigger": [{"feature": "months_since_close", "op": ">=", "value": "24"}]}
    with pytest.raises(CampaignConfigError, match="months_since_close is number"):
        load_campaign(write(tmp_path, body))


def test_id_must_match_the_file_name(tmp_path):
    with pytest.raises(CampaignConfigError, match="must match the file name"):
        load_campaign(write(tmp_path, HELOC, name="heloc_v2"))


def test_config_hash_changes_with_any_threshold(tmp_path):
    base = load_campaign(write(tmp_path, HELOC))
    changed = HELOC | {"eligibility": HELOC["eligibility"][:-1] + [
        {"feature": "available_equity", "op": ">=", "value": 50001}]}
    assert load_campaign(write(tmp_path, changed)).config_sha256 != base.config_sha256
    assert load_campaign(write(tmp_path, HELOC)).config_sha256 == base.config_sha256


def test_conditions_evaluate_like_sql_three_valued_logic():
    spread = Condition(feature="rate_spread_bps", op=">=", value=75)
    assert spread.evaluate({"rate_spread_bps": Decimal("75.0000")}) is True
    assert spread.evaluate({"rate_spread_bps": Decimal("74.99")}) is False
    assert spread.evaluate({"rate_spread_bps": None}) is None
    either = AnyOf(any_of=[spread, Condition(feature="is_investor", op="=", value=True)])
    assert either.evaluate({"rate_spread_bps": None, "is_investor": True}) is True
    assert either.evaluate({"rate_spread_bps": None, "is_investor": False}) is None


def test_peer_campaigns_ship_switched_off():
    campaigns = load_campaigns()
    assert not campaigns["pmi_removal"].enabled and not campaigns["arm_reset"].enabled
    pmi = campaigns["pmi_removal"]
    assert Condition(feature="upb_to_original_value", op="<=", value=0.8) in pmi.trigger
