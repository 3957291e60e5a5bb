"""The dbt command line for a range of nights, built without running dbt."""

import json
from datetime import date

from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.dbt_args import dbt_build_args


def test_a_backfill_is_one_build_over_the_range():
    args = dbt_build_args(date(2026, 11, 1), date(2026, 11, 27), load_campaigns())
    assert args[0] == "build" and args[-2:] == ["--exclude-resource-type", "unit_test"]
    variables = json.loads(args[args.index("--vars") + 1])
    assert (variables["min_date"], variables["max_date"], variables["as_of"]) == (
        "2026-11-01", "2026-11-27", "2026-11-27")


def test_campaign_thresholds_reach_dbt_from_the_yaml():
    args = dbt_build_args(date(2026, 11, 27), date(2026, 11, 27), load_campaigns())
    heloc = json.loads(args[args.index("--vars") + 1])["campaigns"]["heloc"]
    assert {"feature": "months_since_close", "op": ">=", "value": 24} in heloc["trigger"]
    assert {"feature": "available_equity", "op": ">=", "value": 50000} in heloc["eligibility"]
    assert heloc["enabled"] is True and heloc["product"] == "heloc"
