"""The dbt command line for the nightly build: pure, so it is tested without dbt."""

from __future__ import annotations

import json

from pipelines.lib.campaigns import Campaign, dbt_campaign_vars


def dbt_vars(campaigns: dict[str, Campaign]) -> dict:
    """Only configuration travels as vars; the nights to build are rows of ops.build_nights.
    Vars that stay the same night after night keep dbt's partial parsing."""
    return {"campaigns": dbt_campaign_vars(campaigns)}


def dbt_build_args(campaigns: dict[str, Campaign]) -> list:
    """`dbt build`; the hand-worked unit tests run in the test suite instead of every night
    (they do not depend on the night's data)."""
    return ["build", "--vars", json.dumps(dbt_vars(campaigns), sort_keys=True),
            "--exclude-resource-type", "unit_test"]
