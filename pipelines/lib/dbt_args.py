"""The dbt command line for a range of nights: pure, so it is tested without dbt."""

from __future__ import annotations

import json
from datetime import date

from pipelines.lib.campaigns import Campaign, dbt_campaign_vars


def dbt_vars(first_night: date, last_night: date, campaigns: dict[str, Campaign]) -> dict:
    return {
        "as_of": last_night.isoformat(),
        "min_date": first_night.isoformat(),
        "max_date": last_night.isoformat(),
        "campaigns": dbt_campaign_vars(campaigns),
    }


def dbt_build_args(first_night: date, last_night: date, campaigns: dict[str, Campaign]) -> list:
    """`dbt build` for the nights; the hand-worked unit tests run in the test suite instead of
    every night (they do not depend on the night's data)."""
    return [
        "build", "--vars", json.dumps(dbt_vars(first_night, last_night, campaigns)),
        "--exclude-resource-type", "unit_test",
    ]
