"""Replay campaign rules month by month on real loan history and score them against payoffs.

For each night (a month end) and each signal (a set of campaign conditions, all must hold):
- loans: replayed loans in the book that night (funded, no zero balance known);
- flagged: those meeting the signal;
- payoffs: those that paid off (zero_balance_code 01) in the next 3 calendar months;
- recall = flagged payoffs / payoffs;
- lift = payoff rate of flagged loans / payoff rate of the others.
A ratio with a zero denominator is null (shown as n/a). The pooled row sums loan-months.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

import duckdb
import polars as pl

from pipelines.lib.campaigns import Campaign, ConditionNode

from .dbt_macros import condition_met_sql, render
from .history import History

HORIZON_MONTHS = 3
EQUITY_FEATURE = "available_equity"
# Features the replay computes from the real files (the rest need data they do not hold:
# engagement, income, investor flags, milestones, rate resets).
REPLAYED_FEATURES = {
    "status", "servicing_status", "loan_purpose", "occupancy", "property_type",
    "property_state", "rate_type", "term_months", "note_rate", "original_amount",
    "original_value", "credit_score", "has_pmi", "months_since_close", "days_since_close",
    "current_upb", "est_value", "value_method", "current_ltv", "upb_to_original_value",
    "available_equity", "market_rate", "rate_spread_bps", "scheduled_payment", "new_payment",
    "monthly_savings", "breakeven_months",
}  # fmt: skip


@dataclass(frozen=True)
class Signal:
    """A named set of campaign conditions that flags a loan when all of them hold."""

    name: str
    campaign_id: str
    rules: tuple[ConditionNode, ...]

    def describe(self) -> str:
        return " and ".join(r.describe() for r in self.rules)


def signals(campaigns: dict[str, Campaign], campaign_id: str, equity_campaign: str = "heloc"
            ) -> list[Signal]:
    """The campaign's trigger, its trigger with eligibility, and the equity campaign's
    conditions on available_equity, each exactly as configured."""
    if campaign_id not in campaigns:
        raise ValueError(f"no campaign {campaign_id!r}; known: {sorted(campaigns)}")
    campaign = campaigns[campaign_id]
    found = [
        Signal(f"{campaign_id} trigger", campaign_id, tuple(campaign.trigger)),
        Signal(f"{campaign_id} trigger+eligibility", campaign_id,
               tuple(campaign.trigger + campaign.eligibility)),
    ]
    if equity_campaign in campaigns:
        equity = campaigns[equity_campaign]
        rules = tuple(r for r in [*equity.trigger, *equity.eligibility]
                      if r.features() == {EQUITY_FEATURE})
        if rules:
            found.append(Signal(f"{equity_campaign} equity", equity_campaign, rules))
    for s in found:
        missing = set().union(*(r.features() for r in s.rules)) - REPLAYED_FEATURES
        if missing:
            raise ValueError(f"signal {s.name!r} needs {sorted(missing)}, which the real "
                             f"history does not hold; replayable: {sorted(REPLAYED_FEATURES)}")
    return found


def feature_sql() -> str:
    return render(files(__package__).joinpath("features.sql").read_text())


def loan_nights(history: History, chosen: list[Signal]) -> pl.DataFrame:
    """One row per night and loan in the book: its features, a flag per signal, paid_off_next."""
    flags = ",\n".join(
        f"({' and '.join(condition_met_sql(r.model_dump(mode='json')) for r in s.rules)})"
        f' as "{s.name}"'
        for s in chosen
    )
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        for name in ("snapshots", "market_rates", "hpi", "payoffs"):
            con.register(name, getattr(history, name))
        sql = f"""
            with features as ({feature_sql()})
            select
                features.*,
                {flags},
                exists (
                    select 1 from payoffs
                    where payoffs.loan_id = features.loan_id
                    and payoffs.payoff_month > features.as_of_date
                    and payoffs.payoff_month
                        <= features.as_of_date + interval {HORIZON_MONTHS} month
                ) as paid_off_next
            from features
            order by as_of_date, loan_id"""
        return pl.from_arrow(con.sql(sql).to_arrow_table())


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den)


def score(nights: pl.DataFrame, chosen: list[Signal]) -> pl.DataFrame:
    """Per night and signal, and pooled over all nights (as_of_date null): loans, flagged,
    payoffs, flagged_payoffs, recall, payoff_rate_flagged, payoff_rate_unflagged, lift."""
    long = pl.concat(
        [nights.select("as_of_date", "paid_off_next", signal=pl.lit(s.name),
                       flagged=pl.col(s.name)) for s in chosen]
    )
    counts = [
        pl.len().alias("loans"),
        pl.col("flagged").sum().alias("flagged"),
        pl.col("paid_off_next").sum().alias("payoffs"),
        (pl.col("flagged") & pl.col("paid_off_next")).sum().alias("flagged_payoffs"),
    ]
    per_night = long.group_by("as_of_date", "signal").agg(counts)
    pooled = long.group_by("signal").agg(counts).with_columns(as_of_date=pl.lit(None, pl.Date))
    order = {s.name: i for i, s in enumerate(chosen)}
    unflagged_payoffs = pl.col("payoffs") - pl.col("flagged_payoffs")
    return (
        pl.concat([per_night, pooled.select(per_night.columns)])
        .with_columns(
            recall=_ratio(pl.col("flagged_payoffs"), pl.col("payoffs")),
            payoff_rate_flagged=_ratio(pl.col("flagged_payoffs"), pl.col("flagged")),
            payoff_rate_unflagged=_ratio(unflagged_payoffs, pl.col("loans") - pl.col("flagged")),
        )
        .with_columns(lift=_ratio(pl.col("payoff_rate_flagged"), pl.col("payoff_rate_unflagged")))
        .with_columns(pl.col(c).cast(pl.Int64) for c in ("loans", "flagged", "payoffs",
                                                         "flagged_payoffs"))
        .sort(pl.col("as_of_date").is_null(), "as_of_date",
              pl.col("signal").replace_strict(order))
    )
