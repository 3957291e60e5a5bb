"""The Dagster code location: the graph `dagster dev` shows, the nightly job and schedule."""

import dagster as dg
import pytest

from pipelines.definitions import defs


@pytest.fixture(scope="module")
def definitions():
    return defs()


def test_the_graph_runs_from_landing_zone_to_published_night(definitions):
    graph = definitions.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw/loans", "marts/loan_features", "marts/audience_refinance",
            "outreach_decisions", "send_files", "published_night"} <= keys
    # audiences feed outreach; the send files are released after the warehouse is published
    assert dg.AssetKey(["marts", "audience_heloc"]) in graph.get(
        dg.AssetKey("outreach_decisions")).parent_keys
    assert dg.AssetKey("published_night") in graph.get(dg.AssetKey("send_files")).parent_keys


def test_the_nightly_schedule_runs_after_the_night_ends(definitions):
    schedule = definitions.resolve_schedule_def("nightly_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    job = definitions.resolve_job_def("nightly")
    assert job.partitions_def.get_partition_keys()[0] == "2000-01-01"


def test_inbound_and_outbound_checks_block(definitions):
    checks = {
        (spec.asset_key.to_user_string(), spec.name): spec.blocking
        for holder in [*definitions.assets, *definitions.asset_checks]
        for spec in getattr(holder, "check_specs", ())
    }
    assert checks[("raw/loans", "inputs_valid")] is True
    for name in ("sends_carry_their_disclosures", "no_send_to_an_opted_out_channel",
                 "texts_and_calls_inside_the_window", "audit_chain_intact"):
        assert checks[("outreach_decisions", name)] is True
