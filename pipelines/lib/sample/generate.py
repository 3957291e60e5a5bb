"""Assembles the whole synthetic landing zone: planted cases first, then the random book."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.lib.paths import TEMPLATES_DIR

from .approvals import template_approvals
from .cases import plant
from .consent import random_dnc, random_preferences
from .conversions import random_conversions
from .dates import yesterday_utc
from .engagement import random_engagement
from .hpi import build_hpi
from .loans import TRACT_RATE_GAP_PP, random_loans
from .market import build_rate_history, market_rates_frame
from .milestones import loan_events_frame
from .people import loan_officers, loans_per_borrower, random_borrowers
from .schema import SOURCES
from .tracts import build_tracts
from .writer import FORMATS, write_as_of, write_source

# The 12 sources of INPUTS.md, in its order.
SOURCE_NAMES = tuple(SOURCES)
# pipelines/lib/sample/generate.py -> the repository's templates/ folder.
DEFAULT_TEMPLATES_DIR = TEMPLATES_DIR
LOANS_PER_OFFICER = 150
MIN_OFFICERS = 5


def build_landing_zone(
    loans: int,
    seed: int,
    as_of: date,
    events_per_loan: float,
    templates_dir: Path,
    tract_rate_gap_pp: float = TRACT_RATE_GAP_PP,
) -> dict[str, pl.DataFrame]:
    """Every source as a contract-shaped frame; the same arguments give the same frames."""
    if loans < 0:
        raise ValueError(f"loans must be >= 0, got {loans}")
    day = np.datetime64(as_of, "D")

    def stream(source: str) -> np.random.Generator:
        # One stream per source, so a change to one generator leaves the others' rows alone.
        return np.random.default_rng([seed, SOURCE_NAMES.index(source)])

    rates = build_rate_history(stream("market_rates"), day)
    hpi = build_hpi(stream("hpi"), day)
    tracts = build_tracts(stream("census_tracts"), loans)
    planted = plant(as_of, rates, tracts).frames(loans)

    random_loan_count = loans - planted["loans"].height
    borrower_rng = stream("borrowers")
    counts = loans_per_borrower(borrower_rng, random_loan_count)
    borrowers = random_borrowers(borrower_rng, len(counts))
    loan_rng = stream("loans")
    owners = loan_rng.permutation(np.repeat(np.arange(len(counts)), counts))
    officers = max(MIN_OFFICERS, round(loans / LOANS_PER_OFFICER))
    book = random_loans(loan_rng, day, owners, borrowers, officers, rates, hpi, tracts,
                        tract_rate_gap_pp)

    # A borrower's consent is captured with their first application.
    onboarded = np.full(len(counts), day)
    np.minimum.at(onboarded, owners, book.application)

    random_part = {
        "borrowers": borrowers.frame,
        "loans": book.frame,
        "loan_events": loan_events_frame(
            stream("loan_events"), book.frame["loan_id"], book.milestones, book.milestone_days
        ),
        "engagement_events": random_engagement(
            stream("engagement_events"), day, borrowers, round(events_per_loan * random_loan_count)
        ),
        "contact_preferences": random_preferences(
            stream("contact_preferences"), day, borrowers, onboarded
        ),
        "conversions": random_conversions(stream("conversions"), day, borrowers),
    }
    frames = {name: pl.concat([planted[name], random_part[name]]) for name in random_part}
    frames["loan_officers"] = loan_officers(stream("loan_officers"), officers)
    frames["market_rates"] = market_rates_frame(rates)
    frames["hpi"] = hpi.frame
    frames["dnc_numbers"] = random_dnc(stream("dnc_numbers"), day, borrowers)
    frames["template_approvals"] = template_approvals(templates_dir, as_of)
    frames["census_tracts"] = tracts.frame(frames["loans"]["property_census_tract"])
    return {name: frames[name] for name in SOURCE_NAMES}


def write_sample(
    out_dir: Path,
    loans: int = 2000,
    seed: int = 7,
    as_of: date | None = None,
    fmt: str = "csv",
    events_per_loan: float = 3.0,
    templates_dir: Path | None = None,
    tract_rate_gap_pp: float = TRACT_RATE_GAP_PP,
) -> dict[str, int]:
    """Write a synthetic landing zone valid against INPUTS.md and return rows per source.

    Byte-identical for the same (loans, seed, as_of, fmt, events_per_loan, tract_rate_gap_pp)
    and templates.
    `as_of` defaults to yesterday (UTC) and is written to `_as_of` for `xsell run`.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    as_of = as_of or yesterday_utc()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = build_landing_zone(
        loans, seed, as_of, events_per_loan, Path(templates_dir or DEFAULT_TEMPLATES_DIR),
        tract_rate_gap_pp,
    )
    for source, frame in frames.items():
        write_source(frame, out_dir, source, fmt)
    write_as_of(out_dir, as_of)
    return {source: frame.height for source, frame in frames.items()}
