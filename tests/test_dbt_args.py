"""The dbt command line for the nightly build, built without running dbt."""

import json

from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.dbt_args import dbt_build_args


def test_the_build_skips_unit_tests_and_carries_only_configuration():
    args = dbt_build_args(load_campaigns())
    assert args[0] == "build" and args[-2:] == ["--exclude-resource-type", "unit_test"]
    variables = json.loads(args[args.index("--vars") + 1])
    assert set(variables) == {"campaigns"}  # the nights come from ops.build_nights


def test_the_vars_are_the_same_text_every_night():
    # identical vars keep dbt's partial parsing between nights
    assert dbt_build_args(load_campaigns()) == dbt_build_args(load_campaigns())


def test_campaign_thresholds_reach_dbt_from_the_yaml():
    args = dbt_build_args(load_campaigns())
    heloc = json.loads(args[args.index("--vars") + 1])["campaigns"]["heloc"]
    assert {"feature": "months_since_close", "op": ">=", "value": 24} in heloc["trigger"]
    assert {"feature": "available_equity", "op": ">=", "value": 50000} in heloc["eligibility"]
    assert heloc["enabled"] is True and heloc["product"] == "heloc"
