"""Campaign guards that hold a whole campaign's batch: stale rates and unusual volume."""

from __future__ import annotations

from statistics import median
from typing import TYPE_CHECKING

from pipelines.lib.campaigns import Campaign
from pipelines.lib.enrollment import DueStep
from pipelines.lib.outreach.state import NightState
from pipelines.lib.register import Register

if TYPE_CHECKING:
    from pipelines.lib.metrics_reach import Reach


def campaign_holds(state: NightState, campaigns: dict[str, Campaign], due: list[DueStep],
                   register: Register) -> dict[str, str]:
    """Guards decided before anything is rendered. data.freshness: a campaign that quotes
    market rates needs one no older than its max_rate_age_days; a stale or missing feed holds
    it with that reason rather than quoting an old rate."""
    holds = {}
    for d in due:
        campaign = campaigns[d.enrollment.campaign_id]
        if campaign.max_rate_age_days is None or campaign.id in holds:
            continue
        age = state.features.get(d.enrollment.loan_id, {}).get("market_rate_age_days")
        if age is None or age > campaign.max_rate_age_days:
            holds[campaign.id] = "data.freshness"
    return holds


def volume_holds(state: NightState, campaigns: dict[str, Campaign],
                 batch: dict[str, int], register: Register) -> dict[str, str]:
    """volume.guard: with enough nights of history, a batch over the configured multiple of the
    trailing median and over the floor is held until `xsell approve` releases it."""
    params = register.params("volume.guard")
    min_nights, window = params.get("min_history_nights", 7), params.get("trailing_nights", 14)
    holds = {}
    for cid, sends in batch.items():
        campaign = campaigns[cid]
        history = state.nightly_sends.get(cid, {})
        known = [history.get(night, 0) for night in state.nights_run[-window:]]
        if len(known) < min_nights:
            continue
        approved = (cid, "volume.guard") in state.approved_holds
        if (sends > campaign.volume_floor
                and sends > campaign.volume_multiple * median(known) and not approved):
            holds[cid] = "volume.guard"
    return holds


def reach_holds(con, state: NightState, campaigns: dict[str, Campaign], sends: dict[str, list[str]],
                register: Register) -> dict[str, Reach]:
    """fair_lending.reach: a campaign that reaches borrowers in majority-minority tracts less
    than the rest is held until a reviewer's justification is in its configuration (or the
    held night is approved with `xsell approve --guard fair_lending.reach`). Returns each held
    campaign with the figures it was held on: tonight's batch as it would have been sent."""
    from pipelines.lib.metrics_reach import fair_lending_reach, reach_params

    params = reach_params(register)
    holds = {}
    for cid, borrowers in sorted(sends.items()):
        campaign = campaigns[cid]
        if campaign.fair_lending_review or (cid, "fair_lending.reach") in state.approved_holds:
            continue
        reach = fair_lending_reach(con, state.as_of, cid, tonight_sent=borrowers, **params)
        if reach.held:
            holds[cid] = reach
    return holds
