"""The planted cases: each campaign's edges at the as_of date D, so every audience has members.

Each case is one loan named after what it proves (`L-heloc-24m-edge`) with a borrower of
its own (`B-heloc-24m-edge`), unless two loans share a borrower on purpose. "in" means
the case meets its campaign's trigger at D, "out" that it misses by one step. Every case
is a current, contactable borrower unless its name says otherwise. tests/test_sample.py
checks the dates by hand and the outcomes against the RULES.md oracle.
"""

from __future__ import annotations

from datetime import date

from ..market import RateHistory
from ..scenarios import Scenarios
from ..tracts import TractPool
from . import (
    financial_planning,
    heloc,
    insurance,
    investment_property,
    post_close_welcome,
    refinance,
)

CAMPAIGN_CASES = (
    insurance,
    post_close_welcome,
    heloc,
    refinance,
    financial_planning,
    investment_property,
)


def plant(as_of: date, rates: RateHistory, tracts: TractPool) -> Scenarios:
    """Every campaign's cases, in a fixed order (a small book keeps the first ones)."""
    scenarios = Scenarios(as_of, tracts)
    for campaign in CAMPAIGN_CASES:
        campaign.plant(scenarios, rates)
    return scenarios
