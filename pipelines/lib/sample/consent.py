"""Consent log (contact_preferences) and do-not-call lists for the random borrowers."""

from __future__ import annotations

import numpy as np
import polars as pl

from .dates import DAY, at_seconds, timestamp_series
from .geography import market_column
from .people import PHONE_BLOCK_OTHER_DNC, BorrowerBook, phone_numbers
from .schema import conform

OPT_OUT_SOURCES = ("web_form", "email_link", "call")
GLBA_OPT_IN_STATES = ("CA", "VT")  # where partner sharing needs an opt-in, not just no opt-out


def _later(rng: np.random.Generator, start: np.ndarray, as_of: np.datetime64) -> np.ndarray:
    """A day between start and as_of, both included."""
    return (
        start
        + np.floor(rng.random(len(start)) * ((as_of - start).astype(np.int64) + 1)).astype(np.int64)
        * DAY
    )


def random_preferences(
    rng: np.random.Generator, as_of: np.datetime64, borrowers: BorrowerBook, onboarded: np.ndarray
) -> pl.DataFrame:
    """Opt-ins captured with the application, some later opt-outs and a few re-opt-ins."""
    n = len(onboarded)
    ids = borrowers.frame["borrower_id"]
    parts: list[pl.DataFrame] = []

    def rows(mask, channel, action, days, hour, source):
        index = np.flatnonzero(mask)
        # The hour orders same-day changes: opt-in 14:00, opt-out 16:00, re-opt-in 18:00 UTC.
        seconds = hour * 3600 + rng.integers(0, 3600, len(index))
        parts.append(
            pl.DataFrame(
                {
                    "borrower_id": ids.gather(pl.Series(index)),
                    "channel": pl.repeat(channel, len(index), eager=True),
                    "action": pl.repeat(action, len(index), eager=True),
                    "recorded_at": timestamp_series(
                        "recorded_at", at_seconds(days[index], seconds)
                    ),
                    "source": source
                    if isinstance(source, pl.Series)
                    else pl.repeat(source, len(index), eager=True),
                }
            )
        )

    def other_source(mask):
        return pl.Series(OPT_OUT_SOURCES).gather(
            pl.Series(rng.integers(0, len(OPT_OUT_SOURCES), int(mask.sum())))
        )

    for channel, has_contact, opt_in_share, opt_out_share in (
        ("email", borrowers.has_email, 0.93, 0.05),
        ("sms", borrowers.has_phone, 0.62, 0.06),
        ("phone", borrowers.has_phone, 0.55, 0.03),
    ):
        opted_in = has_contact & (rng.random(n) < opt_in_share)
        rows(opted_in, channel, "opt_in", onboarded, 14, "loan_application")
        opted_out = opted_in & (rng.random(n) < opt_out_share)
        out_day = _later(rng, onboarded, as_of)
        rows(
            opted_out,
            channel,
            "opt_out",
            out_day,
            16,
            "reply STOP" if channel == "sms" else other_source(opted_out),
        )
        back_in = opted_out & (rng.random(n) < 0.15)
        rows(back_in, channel, "opt_in", _later(rng, out_day, as_of), 18, "web_form")

    rows(rng.random(n) < 0.02, "mail", "opt_out", _later(rng, onboarded, as_of), 16, "call")

    state = market_column("state")[borrowers.home_market]
    glba = np.isin(state, GLBA_OPT_IN_STATES)
    roll = rng.random(n)
    sharing_in = roll < np.where(glba, 0.45, 0.25)
    sharing_out = ~sharing_in & (roll < np.where(glba, 0.60, 0.35))
    rows(sharing_in, "partner_sharing", "opt_in", onboarded, 15, "loan_application")
    rows(
        sharing_out,
        "partner_sharing",
        "opt_out",
        _later(rng, onboarded, as_of),
        16,
        "privacy_notice",
    )
    return conform(
        "contact_preferences", pl.concat(parts).sort("recorded_at", "borrower_id", "channel")
    )


def random_dnc(
    rng: np.random.Generator, as_of: np.datetime64, borrowers: BorrowerBook
) -> pl.DataFrame:
    """A few percent of borrowers' phones on the national and the internal list."""
    n = len(borrowers.home_market)
    phones = borrowers.frame["phone"]
    parts = []
    for list_name, share, max_age_days in (("national", 0.03, 3650), ("internal", 0.012, 400)):
        listed = np.flatnonzero(borrowers.has_phone & (rng.random(n) < share))
        # Numbers that belong to no borrower are on the lists too.
        strangers = phone_numbers(
            PHONE_BLOCK_OTHER_DNC
            + (0 if list_name == "national" else 250_000)
            + np.arange(max(3, int(n * share / 6)))
        )
        numbers = pl.concat([phones.gather(pl.Series(listed)), strangers])
        added = as_of - rng.integers(0, max_age_days, len(numbers)) * DAY
        parts.append(
            pl.DataFrame(
                {
                    "phone": numbers,
                    "list_name": pl.repeat(list_name, len(numbers), eager=True),
                    "added_at": pl.Series("added_at", added),
                }
            )
        )
    return conform("dnc_numbers", pl.concat(parts).sort("added_at", "phone", "list_name"))
