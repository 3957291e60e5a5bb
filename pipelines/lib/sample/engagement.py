"""Engagement events of the last 120 days: opens, clicks, visits, replies (STOP among them)."""

from __future__ import annotations

import numpy as np
import polars as pl

from .dates import SECONDS_PER_DAY, timestamp_series
from .people import BorrowerBook
from .schema import CAMPAIGNS, conform

EVENT_SHARE = {
    "email_open": 0.44,
    "email_click": 0.14,
    "web_visit": 0.22,
    "form_submit": 0.03,
    "sms_reply": 0.06,
    "call_connected": 0.09,
    "email_bounce": 0.01,
    "unsubscribe": 0.01,
}
EVENT_TYPES = tuple(EVENT_SHARE)
EMAIL_EVENTS = ("email_open", "email_click", "email_bounce", "unsubscribe")
PHONE_EVENTS = ("sms_reply", "call_connected")
# Share of each type credited to a campaign; site visits mostly arrive unattributed.
ATTRIBUTED_SHARE = {"web_visit": 0.3, "form_submit": 0.3}
# Reply texts as people type them; the STOP family must be recognised however it is cased
# or punctuated (COMPLIANCE.md tcpa.revocation), the rest must not revoke anything.
SMS_REPLY_SHARE = {
    "STOP": 0.08,
    "Stop.": 0.04,
    "stop": 0.03,
    "QUIT": 0.02,
    "Unsubscribe": 0.03,
    "Yes": 0.15,
    "Yes, call me": 0.10,
    "What rate can I get?": 0.12,
    "Thanks!": 0.15,
    "Not interested": 0.08,
    "Call me after 5pm": 0.10,
    "Is this a scam?": 0.05,
    "ok": 0.05,
}
WINDOW_DAYS = 120
DUPLICATE_SHARE = 0.002  # the same event delivered twice by the vendor


def _draw(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    """Category numbers drawn with the given shares."""
    return np.searchsorted(
        np.cumsum(list(shares.values())), rng.random(size) * sum(shares.values())
    )


def _labels(
    values: tuple[str, ...], codes: np.ndarray, present: np.ndarray | None = None
) -> pl.Series:
    """Strings for category numbers; null where `present` is False."""
    index = (
        pl.Series(codes.astype(np.uint32))
        if present is None
        else pl.Series(np.ma.masked_array(codes.astype(np.uint32), ~present))
    )
    return pl.Series(values, dtype=pl.String).gather(index)


def random_engagement(
    rng: np.random.Generator, as_of: np.datetime64, borrowers: BorrowerBook, expected: int
) -> pl.DataFrame:
    """About `expected` events (plus a few duplicates), time-ordered, ids in that order."""
    population = len(borrowers.home_market)
    if expected == 0 or population == 0:
        return conform("engagement_events", pl.DataFrame())
    # A few borrowers are very engaged and most barely at all.
    activity = rng.gamma(0.7, 1.0, population)
    per_borrower = rng.poisson(activity * (expected / activity.sum()))
    who = rng.permutation(np.repeat(np.arange(population), per_borrower))
    count = len(who)
    end_of_day = (as_of + 1).astype("datetime64[s]") - np.timedelta64(1, "s")
    age = np.sort(rng.integers(0, WINDOW_DAYS * SECONDS_PER_DAY, count))[::-1]

    kind = _draw(rng, EVENT_SHARE, count)
    # Nobody opens an e-mail they were never sent, or texts from no phone: a visit instead.
    needs_email = np.isin(np.arange(len(EVENT_TYPES)), [EVENT_TYPES.index(t) for t in EMAIL_EVENTS])
    needs_phone = np.isin(np.arange(len(EVENT_TYPES)), [EVENT_TYPES.index(t) for t in PHONE_EVENTS])
    unreachable = (needs_email[kind] & ~borrowers.has_email[who]) | (
        needs_phone[kind] & ~borrowers.has_phone[who]
    )
    kind[unreachable] = EVENT_TYPES.index("web_visit")
    attributed_share = np.array([ATTRIBUTED_SHARE.get(t, 0.75) for t in EVENT_TYPES])
    attributed = rng.random(count) < attributed_share[kind]
    is_reply = kind == EVENT_TYPES.index("sms_reply")

    frame = pl.DataFrame(
        {
            "event_id": "E" + pl.int_range(1, count + 1, eager=True).cast(pl.String).str.zfill(9),
            "borrower_id": borrowers.frame["borrower_id"].gather(pl.Series(who)),
            "campaign_id": _labels(CAMPAIGNS, rng.integers(0, len(CAMPAIGNS), count), attributed),
            "event_type": _labels(EVENT_TYPES, kind),
            "occurred_at": timestamp_series(
                "occurred_at", end_of_day - age.astype("timedelta64[s]")
            ),
            "detail": _labels(tuple(SMS_REPLY_SHARE), _draw(rng, SMS_REPLY_SHARE, count), is_reply),
        }
    )
    # Re-deliveries arrive later in the feed, identical to the first copy.
    duplicates = np.sort(
        rng.choice(count, size=max(1, int(count * DUPLICATE_SHARE)), replace=False)
    )
    return conform("engagement_events", pl.concat([frame, frame[duplicates]]))
