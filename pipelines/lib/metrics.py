"""marts.campaign_metrics: one row per night and campaign of what the outreach did and earned.

Built in Python-side SQL, not dbt, because it reads tonight's outreach rows, which are written
after dbt has run. `build_campaign_metrics(con, as_of)` replaces that night's rows only (in
`marts.campaign_metrics` and the long table `marts.campaign_message_reasons`). Every figure
reads nights up to and including as_of, so a night's row does not change when later nights
are added.

Definitions (OUTPUTS.md defaults; the windows are `MetricsSettings`, which `assets/outreach.yaml`
may override under `metrics:`):

Audience
- `audience_size`: rows of `marts.audience_<campaign>` on as_of (one per borrower).
- `audience_entered` / `audience_left`: borrowers in tonight's audience and not in the previous
  night's, and the reverse. The previous night is the latest earlier night the warehouse built
  (`marts.loan_features`); on the first night everyone entered.

Messages (tonight)
- `messages_considered`, and `messages_sent`, `_deferred`, `_suppressed`, `_blocked`, `_held`:
  the audit-log rows of as_of by decision. `messages_by_reason` is JSON
  {decision: {rule id: count}}; the same counts are rows of `marts.campaign_message_reasons`.
  Control-group borrowers appear as suppress / `control_group`.

Engagement (events dated as_of, UTC, joined on the event's campaign_id)
- `opens` (email_open), `clicks` (email_click), `replies` (sms_reply): events.
- `opt_outs`: borrowers with an `unsubscribe` event or a STOP reply (tcpa.revocation's words).
  `email_bounce` is not an opt-out.

Conversions
- A *send* reaches the borrower on its send day, the night after its as_of_date. Its product is
  its step's product (the step's own, else the campaign's).
- **Last touch**: a conversion (staging conversions, converted_at ≤ as_of) is credited to the
  campaign of the latest send to that borrower on that product whose send day falls in
  [converted_at − attribution_days, converted_at] (90 days). Ties on the day go to the lowest
  campaign id. A conversion with no such send is credited to nobody. The landing zone's own
  `conversions.campaign_id` is not used.
- `conversions` / `revenue`: credited conversions dated as_of and their revenue.
  `conversions_to_date` / `revenue_to_date`: all credited conversions up to as_of.
- `borrowers_sent_to_date`: distinct borrowers with a send of the campaign up to as_of.
- `conversion_rate` = borrowers with a credited conversion ÷ borrowers sent, to date. (Counted
  by borrower so it stays a proportion: it equals credited conversions ÷ borrowers sent unless
  one borrower converts twice.) This is the *treated* rate.
- `revenue_per_conversion` = revenue_to_date ÷ conversions_to_date (a conversion without
  revenue counts as 0).
- `opt_out_rate` = borrowers sent who opted out, from their first send day up to as_of, on an
  event carrying the campaign's id ÷ borrowers sent, to date.

Treated vs control
- `control_borrowers`: distinct borrowers of the campaign's control enrollments up to as_of.
  `control_converted`: those with a conversion on one of the campaign's products dated in
  [enrolled_on, enrolled_on + control_window_days] (90) and ≤ as_of.
- `lift` = conversion_rate − control_rate, with `lift_low`/`lift_high` the 95 % Newcombe
  hybrid score interval (from the two Wilson intervals). Null when either group is empty.

Funnel (to date): `borrowers_eligible_to_date` (ever in the audience) →
`borrowers_enrolled_to_date` (treated enrollments) → `borrowers_sent_to_date` →
`borrowers_converted_to_date`.

Fair-lending reach: `reach_*` columns, as in `pipelines/lib/metrics_reach.py` (trailing 30
nights; `reach_flagged` is what the numbers alone say, before any recorded review). A campaign
held tonight sent nothing, so its row counts none of tonight's batch; the report shows the
batch the hold was decided on.

Portfolio figures (the same on every campaign's row of a night; loans describe *now*, so a
loan paid off after as_of still counts as held on as_of):
- **Refinance recapture rate** = recaptured ÷ payoffs. Payoffs: loans with status `paid_off`
  and status_date in (as_of − recapture_period_days, as_of] (365). Recaptured: the borrower has
  a `refinance` conversion dated within recapture_window_days (60) of the status_date, before
  or after (a new loan often funds days before the old one's payoff is recorded), and ≤ as_of.
  A payoff from the last 60 days may still be recaptured later; that night's row stays as it
  was.
- **Ancillary revenue per borrower** = revenue of conversions other than `refinance` dated in
  (as_of − revenue_period_days, as_of] ÷ borrowers holding a funded loan on as_of (close_date ≤
  as_of and status funded, or paid_off with status_date after as_of).
- **3-year retention** = retained ÷ cohort. Cohort: borrowers whose first funded loan (the
  earliest close_date among their funded or paid-off loans) closed in (as_of − 48 months,
  as_of − 36 months]. Retained: on as_of they hold a funded loan (as above), or they have a
  conversion of any product dated after that first close and ≤ as_of.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import yaml

from pipelines.lib.campaigns import Campaign, load_campaigns
from pipelines.lib.consent import DEFAULT_STOP_WORDS
from pipelines.lib.metrics_reach import judge_reach, reach_counts, reach_params
from pipelines.lib.metrics_sources import (
    Tonight,
    audience_relation,
    checked_name,
    outreach_relations,
    relation_exists,
    sql_date,
)
from pipelines.lib.metrics_stats import newcombe_difference, rate
from pipelines.lib.paths import ASSETS_DIR

DECISIONS = ("send", "defer", "suppress", "block", "hold")
# the column of each decision's count in marts.campaign_metrics
DECISION_COLUMNS = {"send": "messages_sent", "defer": "messages_deferred",
                    "suppress": "messages_suppressed", "block": "messages_blocked",
                    "hold": "messages_held"}

METRICS_DDL = """
create schema if not exists marts;
create table if not exists marts.campaign_metrics (
    as_of_date date, campaign_id varchar,
    audience_size bigint, audience_entered bigint, audience_left bigint,
    messages_considered bigint, messages_sent bigint, messages_deferred bigint,
    messages_suppressed bigint, messages_blocked bigint, messages_held bigint,
    messages_by_reason varchar,
    opens bigint, clicks bigint, replies bigint, opt_outs bigint,
    conversions bigint, revenue decimal(18, 2),
    borrowers_eligible_to_date bigint, borrowers_enrolled_to_date bigint,
    borrowers_sent_to_date bigint, borrowers_converted_to_date bigint,
    conversions_to_date bigint, revenue_to_date decimal(18, 2), borrowers_opted_out_to_date bigint,
    conversion_rate double, opt_out_rate double, revenue_per_conversion decimal(18, 2),
    control_borrowers bigint, control_converted bigint, control_rate double,
    lift double, lift_low double, lift_high double,
    reach_minority_eligible bigint, reach_minority_reached bigint,
    reach_other_eligible bigint, reach_other_reached bigint,
    reach_air double, reach_z double, reach_flagged boolean,
    recapture_payoffs bigint, recapture_recaptured bigint, refinance_recapture_rate double,
    ancillary_revenue decimal(18, 2), portfolio_borrowers bigint,
    ancillary_revenue_per_borrower decimal(18, 2),
    retention_cohort bigint, retention_retained bigint, retention_3yr_rate double);
create table if not exists marts.campaign_message_reasons (
    as_of_date date, campaign_id varchar, decision varchar, reason varchar, messages bigint);
"""


@dataclass(frozen=True)
class MetricsSettings:
    attribution_days: int = 90
    control_window_days: int = 90
    recapture_window_days: int = 60
    recapture_period_days: int = 365
    revenue_period_days: int = 365
    retention_min_months: int = 36
    retention_max_months: int = 48
    stop_words: frozenset[str] = field(default_factory=lambda: DEFAULT_STOP_WORDS)

    @classmethod
    def load(cls) -> MetricsSettings:
        """The defaults, overridden by `metrics:` in assets/outreach.yaml when present; the
        stop words are tcpa.revocation's."""
        from pipelines.lib.register import load_register

        path = ASSETS_DIR / "outreach.yaml"
        outreach = yaml.safe_load(path.read_text()) if path.exists() else None
        overrides = (outreach or {}).get("metrics") or {}
        register = load_register()
        words = (register.params("tcpa.revocation").get("stop_words")
                 if "tcpa.revocation" in register else None)
        return cls(**{k: int(v) for k, v in overrides.items()},
                   stop_words=frozenset(words) if words else DEFAULT_STOP_WORDS)


# --- helpers


def _step_products(con: duckdb.DuckDBPyConnection, campaigns: dict[str, Campaign]) -> str:
    """Registers (campaign_id, step, product) for every step that sells a product."""
    found = [(cid, i, c.step_product(s)) for cid, c in sorted(campaigns.items())
             for i, s in enumerate(c.steps) if c.step_product(s)]
    con.register("xsell_step_products", pa.table({
        "campaign_id": pa.array([f[0] for f in found], pa.string()),
        "step": pa.array([f[1] for f in found], pa.int32()),
        "product": pa.array([f[2] for f in found], pa.string())}))
    return "xsell_step_products"


def _optout_sql(stop_words: frozenset[str], event: str = "") -> str:
    """An engagement event (alias `event`, with its dot) that opts the borrower out."""
    words = ", ".join(f"'{w}'" for w in sorted(stop_words) if w.isalnum())
    return (f"({event}event_type = 'unsubscribe' or ({event}event_type = 'sms_reply' and "
            f"regexp_replace(upper(coalesce({event}detail, '')), '[\\W_]+', '', 'g') "
            f"in ({words})))")


def _by_campaign(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
                 ) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute(sql, params or []).fetchall()}


def _built_nights(con: duckdb.DuckDBPyConnection, audiences: list[str], as_of: date) -> str:
    """The nights the warehouse built, up to as_of (as_of itself always counts)."""
    if relation_exists(con, "marts.loan_features"):
        known = "select distinct as_of_date from marts.loan_features"
    else:
        known = " union ".join(f"select distinct as_of_date from {a}" for a in audiences) \
            or "select cast(null as date) as as_of_date where false"
    return (f"(select as_of_date from ({known}) where as_of_date <= {sql_date(as_of)} "
            f"union select {sql_date(as_of)})")


def audience_history(con: duckdb.DuckDBPyConnection, as_of: date, campaign_ids: list[str],
                     days: int = 90) -> dict[str, list[tuple[date, int, int, int]]]:
    """Per campaign, for each built night in (as_of − days, as_of]: (night, audience size,
    entered, left), entered and left against the night built before it."""
    history: dict[str, list[tuple[date, int, int, int]]] = {}
    relations = {cid: audience_relation(con, cid) for cid in campaign_ids}
    nights = _built_nights(con, list(relations.values()), as_of)
    first = f"({sql_date(as_of)} - {int(days)})"
    for cid, audience in relations.items():
        history[cid] = [tuple(r) for r in con.execute(f"""
            with nights as (
                select as_of_date as night, lag(as_of_date) over (order by as_of_date) as prev
                from {nights}
            ),
            in_range as (select * from nights where night > {first}),
            members as (
                select as_of_date, borrower_id from {audience}
                where as_of_date >= coalesce((select min(prev) from in_range), {first})
                  and as_of_date <= {sql_date(as_of)}
            ),
            sizes as (select as_of_date as night, count(*) as n from members group by 1),
            entered as (
                select n.night, count(*) as n
                from in_range as n
                join members as cur on cur.as_of_date = n.night
                anti join members as before
                  on before.as_of_date = n.prev and before.borrower_id = cur.borrower_id
                group by 1
            ),
            gone as (
                select n.night, count(*) as n
                from in_range as n
                join members as before on before.as_of_date = n.prev
                anti join members as cur
                  on cur.as_of_date = n.night and cur.borrower_id = before.borrower_id
                group by 1
            )
            select n.night, coalesce(s.n, 0), coalesce(e.n, 0), coalesce(g.n, 0)
            from in_range as n
            left join sizes as s using (night)
            left join entered as e using (night)
            left join gone as g using (night)
            order by n.night""").fetchall()]
    return history


# --- the figures


def _held_on(night: str, loan: str = "") -> str:
    """A loan the borrower still held on the night: funded by then, and not paid off by then."""
    return (f"({loan}close_date <= {night} and ({loan}status = 'funded' or "
            f"({loan}status = 'paid_off' and {loan}status_date > {night})))")


def _portfolio(con: duckdb.DuckDBPyConnection, as_of: date, s: MetricsSettings) -> dict:
    night = sql_date(as_of)
    if not (relation_exists(con, "staging.stg_raw__loans")
            and relation_exists(con, "staging.stg_raw__conversions")):
        return {}
    conversions = "staging.stg_raw__conversions"
    payoffs, recaptured = con.execute(f"""
        with payoffs as (
            select loan_id, borrower_id, status_date from staging.stg_raw__loans
            where status = 'paid_off' and status_date <= {night}
              and status_date > {night} - {int(s.recapture_period_days)}
        )
        select count(*), count(*) filter (where exists (
            select 1 from {conversions} as c
            where c.borrower_id = p.borrower_id and c.product = 'refinance'
              and c.converted_at <= {night}
              and c.converted_at between p.status_date - {int(s.recapture_window_days)}
                                     and p.status_date + {int(s.recapture_window_days)}))
        from payoffs as p""").fetchall()[0]
    revenue, borrowers = con.execute(f"""
        select (select coalesce(sum(revenue), 0) from {conversions}
                where product <> 'refinance' and converted_at <= {night}
                  and converted_at > {night} - {int(s.revenue_period_days)}),
               (select count(distinct borrower_id) from staging.stg_raw__loans
                where {_held_on(night)})""").fetchall()[0]
    cohort, retained = con.execute(f"""
        with first_close as (
            select borrower_id, min(close_date) as first_close from staging.stg_raw__loans
            where close_date is not null and status in ('funded', 'paid_off')
            group by 1
        ),
        cohort as (
            select * from first_close
            where first_close > {night} - interval {int(s.retention_max_months)} month
              and first_close <= {night} - interval {int(s.retention_min_months)} month
        )
        select count(*), count(*) filter (where
            exists (select 1 from staging.stg_raw__loans as l
                    where l.borrower_id = c.borrower_id and {_held_on(night, 'l.')})
            or exists (select 1 from {conversions} as v
                       where v.borrower_id = c.borrower_id and v.converted_at > c.first_close
                         and v.converted_at <= {night}))
        from cohort as c""").fetchall()[0]
    revenue = Decimal(revenue).quantize(Decimal("0.01"))
    return {
        "recapture_payoffs": payoffs, "recapture_recaptured": recaptured,
        "refinance_recapture_rate": rate(recaptured, payoffs),
        "ancillary_revenue": revenue, "portfolio_borrowers": borrowers,
        "ancillary_revenue_per_borrower":
            (revenue / borrowers).quantize(Decimal("0.01")) if borrowers else None,
        "retention_cohort": cohort, "retention_retained": retained,
        "retention_3yr_rate": rate(retained, cohort),
    }


def campaign_metrics_rows(con: duckdb.DuckDBPyConnection, as_of: date,
                          campaigns: dict[str, Campaign] | None = None,
                          settings: MetricsSettings | None = None,
                          tonight: Tonight | None = None) -> list[dict[str, Any]]:
    """The rows of marts.campaign_metrics for as_of, one per campaign, without writing them.
    With `tonight`, tonight's outreach comes from the plan instead of the stored rows."""
    campaigns = load_campaigns() if campaigns is None else campaigns
    s = settings or MetricsSettings.load()
    # A disabled campaign has no audience and sends nothing: it gets no row.
    ids = sorted(checked_name(cid) for cid, c in campaigns.items() if c.enabled)
    night = sql_date(as_of)
    messages, enrollments = outreach_relations(con, as_of, tonight)
    products = _step_products(con, campaigns)
    has_events = relation_exists(con, "staging.stg_raw__engagement_events")
    has_conversions = relation_exists(con, "staging.stg_raw__conversions")

    decisions: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for cid, decision, reason, n in con.execute(f"""
            select campaign_id, decision, coalesce(reason, ''), count(*) from {messages}
            where as_of_date = {night} group by all order by all""").fetchall():
        decisions[cid][decision][reason] = n
    sent = _by_campaign(con, f"""
        select campaign_id, count(distinct borrower_id) from {messages}
        where decision = 'send' group by 1""")
    enrolled = _by_campaign(con, f"""
        select campaign_id, count(distinct borrower_id) from {enrollments}
        where not control_group and enrolled_on <= {night} group by 1""")

    engagement, opted_out = {}, {}
    if has_events:
        optout = _optout_sql(s.stop_words)
        engagement = _by_campaign(con, f"""
            select campaign_id,
                   count(*) filter (where event_type = 'email_open'),
                   count(*) filter (where event_type = 'email_click'),
                   count(*) filter (where event_type = 'sms_reply'),
                   count(distinct borrower_id) filter (where {optout})
            from staging.stg_raw__engagement_events
            where occurred_on = {night} and campaign_id is not null group by 1""")
        opted_out = _by_campaign(con, f"""
            with first_send as (
                select campaign_id, borrower_id, min(as_of_date) + 1 as first_send_day
                from {messages} where decision = 'send' group by all
            )
            select f.campaign_id, count(distinct f.borrower_id)
            from first_send as f
            join staging.stg_raw__engagement_events as e
              on e.campaign_id = f.campaign_id and e.borrower_id = f.borrower_id
             and e.occurred_on >= f.first_send_day and e.occurred_on <= {night}
            where {_optout_sql(s.stop_words, "e.")}
            group by 1""")

    credited, control = {}, {}
    if has_conversions:
        conversions = f"""(select borrower_id, product, converted_at, revenue,
                                  row_number() over (order by borrower_id, product, converted_at,
                                                     campaign_id, revenue) as conversion_no
                           from staging.stg_raw__conversions where converted_at <= {night})"""
        credited = _by_campaign(con, f"""
            with sends as (
                select m.campaign_id, m.borrower_id, p.product, m.as_of_date + 1 as send_day
                from {messages} as m join {products} as p using (campaign_id, step)
                where m.decision = 'send'
            ),
            touches as (
                select v.*, s.campaign_id,
                       row_number() over (partition by v.conversion_no
                                          order by s.send_day desc, s.campaign_id) as latest
                from {conversions} as v
                join sends as s
                  on s.borrower_id = v.borrower_id and s.product = v.product
                 and s.send_day between v.converted_at - {int(s.attribution_days)}
                                    and v.converted_at
            )
            select campaign_id,
                   count(*) filter (where converted_at = {night}),
                   coalesce(sum(revenue) filter (where converted_at = {night}), 0),
                   count(*), coalesce(sum(revenue), 0), count(distinct borrower_id)
            from touches where latest = 1 group by 1""")
        control = _by_campaign(con, f"""
            with control as (
                select distinct campaign_id, borrower_id, enrolled_on from {enrollments}
                where control_group and enrolled_on <= {night}
            ),
            converted as (
                select distinct c.campaign_id, c.borrower_id
                from control as c
                join (select distinct campaign_id, product from {products}) as p
                  using (campaign_id)
                join {conversions} as v
                  on v.borrower_id = c.borrower_id and v.product = p.product
                 and v.converted_at between c.enrolled_on
                                        and c.enrolled_on + {int(s.control_window_days)}
            )
            select c.campaign_id, count(distinct c.borrower_id), count(distinct v.borrower_id)
            from control as c left join converted as v using (campaign_id, borrower_id)
            group by 1""")

    audiences = audience_history(con, as_of, ids, days=1)
    eligible = {cid: con.execute(
        f"select count(distinct borrower_id) from {audience_relation(con, cid)} "
        f"where as_of_date <= {night}").fetchall()[0][0] for cid in ids}
    portfolio = _portfolio(con, as_of, s)
    fair = reach_params()

    found = []
    for cid in ids:
        by_decision = decisions.get(cid, {})
        size, entered, left = (audiences[cid][-1][1:] if audiences[cid] else (0, 0, 0))
        opens, clicks, replies, opt_outs = engagement.get(cid, (0, 0, 0, 0))
        conv_night, rev_night, conv_all, rev_all, converted = credited.get(
            cid, (0, 0, 0, 0, 0))
        borrowers_sent = sent.get(cid, (0,))[0]
        n_control, x_control = control.get(cid, (0, 0))
        lift = newcombe_difference(converted, borrowers_sent, x_control, n_control)
        minority, other = reach_counts(con, as_of, cid, fair["trailing_nights"], messages,
                                       fair["majority_minority_pct"])
        reach = judge_reach(cid, as_of, fair["trailing_nights"], minority, other,
                            fair["min_each_side"], fair["min_air"], fair["min_z"])
        rev_all = Decimal(rev_all).quantize(Decimal("0.01"))
        found.append({
            "as_of_date": as_of, "campaign_id": cid,
            "audience_size": size, "audience_entered": entered, "audience_left": left,
            "messages_considered": sum(sum(r.values()) for r in by_decision.values()),
            **{column: sum(by_decision.get(d, {}).values())
               for d, column in DECISION_COLUMNS.items()},
            "messages_by_reason": json.dumps(
                {d: dict(sorted(r.items())) for d, r in sorted(by_decision.items())},
                sort_keys=True),
            "opens": opens, "clicks": clicks, "replies": replies, "opt_outs": opt_outs,
            "conversions": conv_night,
            "revenue": Decimal(rev_night).quantize(Decimal("0.01")),
            "borrowers_eligible_to_date": eligible[cid],
            "borrowers_enrolled_to_date": enrolled.get(cid, (0,))[0],
            "borrowers_sent_to_date": borrowers_sent,
            "borrowers_converted_to_date": converted,
            "conversions_to_date": conv_all, "revenue_to_date": rev_all,
            "borrowers_opted_out_to_date": opted_out.get(cid, (0,))[0],
            "conversion_rate": rate(converted, borrowers_sent),
            "opt_out_rate": rate(opted_out.get(cid, (0,))[0], borrowers_sent),
            "revenue_per_conversion":
                (rev_all / conv_all).quantize(Decimal("0.01")) if conv_all else None,
            "control_borrowers": n_control, "control_converted": x_control,
            "control_rate": rate(x_control, n_control),
            "lift": lift[0] if lift else None,
            "lift_low": lift[1] if lift else None, "lift_high": lift[2] if lift else None,
            "reach_minority_eligible": reach.minority_eligible,
            "reach_minority_reached": reach.minority_reached,
            "reach_other_eligible": reach.other_eligible,
            "reach_other_reached": reach.other_reached,
            "reach_air": reach.air, "reach_z": reach.z, "reach_flagged": reach.held,
            **{k: portfolio.get(k) for k in (
                "recapture_payoffs", "recapture_recaptured", "refinance_recapture_rate",
                "ancillary_revenue", "portfolio_borrowers", "ancillary_revenue_per_borrower",
                "retention_cohort", "retention_retained", "retention_3yr_rate")},
        })
    return found


def build_campaign_metrics(con: duckdb.DuckDBPyConnection, as_of: date,
                           campaigns: dict[str, Campaign] | None = None,
                           settings: MetricsSettings | None = None) -> int:
    """Write as_of's rows of marts.campaign_metrics and marts.campaign_message_reasons from
    the stored outreach rows, replacing that night's rows only. Returns the rows written."""
    return store_campaign_metrics(con, as_of, campaign_metrics_rows(con, as_of, campaigns,
                                                                    settings))


def store_campaign_metrics(con: duckdb.DuckDBPyConnection, as_of: date,
                           found: list[dict[str, Any]]) -> int:
    """Replace as_of's rows of marts.campaign_metrics and marts.campaign_message_reasons with
    `found` (campaign_metrics_rows of that night)."""
    con.execute(METRICS_DDL)
    columns = [d[0] for d in con.execute(
        "select * from marts.campaign_metrics limit 0").description]
    reasons = [[as_of, r["campaign_id"], d, reason, n]
               for r in found for d, by_reason in json.loads(r["messages_by_reason"]).items()
               for reason, n in by_reason.items()]
    con.execute("begin transaction")
    try:
        con.execute("delete from marts.campaign_metrics where as_of_date = ?", [as_of])
        con.execute("delete from marts.campaign_message_reasons where as_of_date = ?", [as_of])
        if found:
            con.executemany(
                f"insert into marts.campaign_metrics ({', '.join(columns)}) "
                f"values ({', '.join('?' for _ in columns)})",
                [[r[c] for c in columns] for r in found])
        if reasons:
            con.executemany("insert into marts.campaign_message_reasons values (?, ?, ?, ?, ?)",
                            reasons)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(found)
