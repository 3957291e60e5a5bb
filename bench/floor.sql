-- The floor: the nightly's loan features and six audiences (RULES.md, "Loan features" and the
-- default campaign pack), hand-written as one DuckDB statement per table and read straight from
-- the landing zone's Parquet files. No validation, no staging views, no dbt, no Dagster: the
-- least work that yields the same rows, so the pipeline's time can be judged against it.
--
-- bench/floor.py replaces {landing} with the landing-zone folder and {as_of} with the night
-- (ISO date) and runs each block below (`-- table: <name>` up to the next one) in one
-- connection with TimeZone = UTC. Thresholds are the defaults of assets/campaigns/*.yaml,
-- written out here on purpose: floor.py --compare checks them against the warehouse.

-- table: market_rate_in_force
-- Per product, the latest rate dated on or before the night and already published by then.
create or replace table market_rate_in_force as
select
    lower(product) as product,
    arg_max(cast(rate as decimal(18, 8)), (rate_date, coalesce(published_on, rate_date))) as market_rate,
    arg_max(cast(apr as decimal(18, 8)), (rate_date, coalesce(published_on, rate_date))) as market_apr,
    max(cast(rate_date as date)) as market_rate_date
from read_parquet('{landing}/market_rates.parquet')
where rate_date <= date '{as_of}' and coalesce(published_on, rate_date) <= date '{as_of}'
group by all;

-- table: hpi_known
-- The index values known at the night, for the three levels the valuation ladder uses.
create or replace table hpi_known as
select distinct
    lower(geo_level) as geo_level,
    upper(geo_code) as geo_code,
    cast(period_start as date) as period_start,
    cast(index_value as double) as index_value
from read_parquet('{landing}/hpi.parquet')
where lower(geo_level) in ('cbsa', 'state', 'national')
    and period_start <= date '{as_of}'
    and coalesce(published_on, period_start) <= date '{as_of}';

-- table: engagement
-- Per borrower: Σ weight × 0.5^(age_days / 30) over distinct event_ids on or before the night.
-- Events of weight 0 add nothing, so they are left out before the de-duplication.
create or replace table engagement as
with events as (
    select
        event_id,
        any_value(borrower_id) as borrower_id,
        any_value(lower(event_type)) as event_type,
        min(cast(occurred_at as date)) as occurred_on
    from read_parquet('{landing}/engagement_events.parquet')
    where cast(occurred_at as date) <= date '{as_of}'
        and lower(event_type) in ('email_open', 'email_click', 'web_visit', 'form_submit',
                                  'sms_reply', 'call_connected')
    group by event_id
)
select
    borrower_id,
    cast(round(cast(sum(
        case event_type
            when 'email_open' then 1 when 'email_click' then 3 when 'web_visit' then 2
            when 'form_submit' then 10 when 'sms_reply' then 5 when 'call_connected' then 5
        end * power(0.5, (date '{as_of}' - occurred_on) / 30.0)
    ) as decimal(38, 10)), 2) as decimal(12, 2)) as engagement_score
from events
group by borrower_id;

-- table: clear_to_close
-- Per loan, the latest clear_to_close milestone known on or before the night.
create or replace table clear_to_close as
select loan_id, max(cast(occurred_at as date)) as clear_to_close_on
from read_parquet('{landing}/loan_events.parquet')
where lower(milestone) = 'clear_to_close' and cast(occurred_at as date) <= date '{as_of}'
group by loan_id;

-- table: loan_features
-- One row per loan: RULES.md's features, plus the loan and borrower attributes the campaign
-- rules test (int_audience_candidates in the pipeline).
create or replace table loan_features as
with loans as (
    select
        loan_id, borrower_id, lower(loan_purpose) as loan_purpose, lower(occupancy) as occupancy,
        upper(property_state) as property_state, property_cbsa, lower(rate_type) as rate_type,
        cast(term_months as integer) as term_months,
        cast(note_rate as decimal(18, 8)) as note_rate,
        cast(original_amount as decimal(18, 2)) as original_amount,
        cast(original_value as decimal(18, 2)) as original_value,
        cast(first_payment_date as date) as first_payment_date,
        cast(close_date as date) as close_date,
        cast(current_upb as decimal(18, 2)) as file_upb,
        lower(status) as status, cast(status_date as date) as status_date,
        lower(servicing_status) as servicing_status,
        cast(credit_score as integer) as credit_score,
        cast(next_rate_reset_date as date) as next_rate_reset_date,
        case when cast(term_months as integer) <= 180 and lower(rate_type) = 'fixed'
            then 'fixed_15' else 'fixed_30' end as refi_product
    from read_parquet('{landing}/loans.parquet')
),

timed as (
    select
        *,
        case when close_date is not null then
            (year(date '{as_of}') - year(close_date)) * 12
            + (month(date '{as_of}') - month(close_date))
            - case when day(date '{as_of}') < day(close_date) then 1 else 0 end
        end as months_since_close,
        case when close_date is not null then date '{as_of}' - close_date end
            as days_since_close,
        case when status = 'funded' then
            case when first_payment_date is null or date '{as_of}' < first_payment_date then 0
            else least(term_months,
                (year(date '{as_of}') - year(first_payment_date)) * 12
                + (month(date '{as_of}') - month(first_payment_date))
                - case when day(date '{as_of}') < day(first_payment_date) then 1 else 0 end
                + 1)
            end
        end as payments_made,
        case when status = 'funded' then cast(round(cast(
            case when note_rate = 0 then cast(original_amount as double) / term_months
            else cast(original_amount as double) * (cast(note_rate as double) / 1200.0)
                / (1 - power(1 + cast(note_rate as double) / 1200.0, -term_months))
            end as decimal(38, 10)), 2) as decimal(18, 2))
        end as scheduled_payment
    from loans
),

balanced as (
    select
        *,
        case when status = 'funded' then coalesce(file_upb, cast(round(cast(greatest(0,
            case when note_rate = 0
                then cast(original_amount as double)
                     - cast(scheduled_payment as double) * payments_made
            else cast(original_amount as double)
                     * power(1 + cast(note_rate as double) / 1200.0, payments_made)
                 - cast(scheduled_payment as double)
                     * (power(1 + cast(note_rate as double) / 1200.0, payments_made) - 1)
                     / (cast(note_rate as double) / 1200.0)
            end) as decimal(38, 10)), 2) as decimal(18, 2)))
        end as current_upb
    from timed
),

cbsa as (select geo_code, period_start, index_value from hpi_known where geo_level = 'cbsa'),
state as (select geo_code, period_start, index_value from hpi_known where geo_level = 'state'),
national as (select period_start, index_value from hpi_known where geo_level = 'national'),
now_values as (
    select geo_level, geo_code, arg_max(index_value, period_start) as index_value
    from hpi_known group by all
),

valued as (
    select
        balanced.*,
        case
            when cbsa_orig.index_value is not null and cbsa_now.index_value is not null then 'cbsa'
            when state_orig.index_value is not null and state_now.index_value is not null then 'state'
            when national_orig.index_value is not null and national_now.index_value is not null
                then 'national'
            else 'none'
        end as hpi_method,
        case
            when cbsa_orig.index_value is not null and cbsa_now.index_value is not null
                then cbsa_now.index_value / cbsa_orig.index_value
            when state_orig.index_value is not null and state_now.index_value is not null
                then state_now.index_value / state_orig.index_value
            when national_orig.index_value is not null and national_now.index_value is not null
                then national_now.index_value / national_orig.index_value
            else 1.0
        end as hpi_growth
    from balanced
    asof left join cbsa as cbsa_orig
        on cbsa_orig.geo_code = balanced.property_cbsa
        and balanced.close_date >= cbsa_orig.period_start
    asof left join state as state_orig
        on state_orig.geo_code = balanced.property_state
        and balanced.close_date >= state_orig.period_start
    asof left join national as national_orig
        on balanced.close_date >= national_orig.period_start
    left join now_values as cbsa_now
        on cbsa_now.geo_level = 'cbsa' and cbsa_now.geo_code = balanced.property_cbsa
    left join now_values as state_now
        on state_now.geo_level = 'state' and state_now.geo_code = balanced.property_state
    left join now_values as national_now
        on national_now.geo_level = 'national' and national_now.geo_code = 'US'
),

priced as (
    select
        valued.*,
        case when status = 'funded' then hpi_method end as value_method,
        case when status = 'funded' then cast(round(cast(
            cast(original_value as double) * hpi_growth as decimal(38, 10)), 2) as decimal(18, 2))
        end as est_value,
        rates.market_rate,
        rates.market_apr,
        rates.market_rate_date,
        date '{as_of}' - rates.market_rate_date as market_rate_age_days,
        case when status = 'funded' then (note_rate - rates.market_rate) * 100 end
            as rate_spread_bps,
        case when status = 'funded' then cast(round(cast(
            case when rates.market_rate = 0
                then cast(current_upb as double) / case refi_product when 'fixed_15' then 180 else 360 end
            else cast(current_upb as double) * (cast(rates.market_rate as double) / 1200.0)
                / (1 - power(1 + cast(rates.market_rate as double) / 1200.0,
                             -(case refi_product when 'fixed_15' then 180 else 360 end)))
            end as decimal(38, 10)), 2) as decimal(18, 2))
        end as new_payment,
        case when status = 'funded' then
            cast(round(cast(current_upb * 0.02 as decimal(38, 10)), 2) as decimal(18, 2))
        end as closing_costs
    from valued
    left join market_rate_in_force as rates
        on valued.status = 'funded' and rates.product = valued.refi_product
),

with_savings as (
    select *, scheduled_payment - new_payment as monthly_savings from priced
)

select
    date '{as_of}' as as_of_date,
    f.loan_id,
    f.borrower_id,
    case
        when status = 'application' then 'lead'
        when status = 'pre_approved' then 'pre_approved'
        when status in ('processing', 'clear_to_close') then 'in_processing'
        when status = 'funded' and days_since_close < 30 then 'funded'
        when status = 'funded' and days_since_close < 365 then 'post_close'
        when status = 'funded' then 'long_term_nurture'
        when status = 'paid_off' then 'paid_off'
        when status in ('withdrawn', 'denied') then 'inactive'
    end as lifecycle_stage,
    months_since_close,
    days_since_close,
    payments_made,
    current_upb,
    est_value,
    value_method,
    case when est_value > 0 then cast(current_upb as double) / cast(est_value as double) end
        as current_ltv,
    case when status = 'funded' then cast(round(cast(
        greatest(0, est_value * 0.85 - current_upb) as decimal(38, 10)), 2) as decimal(18, 2))
    end as available_equity,
    market_rate,
    market_apr,
    market_rate_date,
    market_rate_age_days,
    rate_spread_bps,
    scheduled_payment,
    new_payment,
    monthly_savings,
    closing_costs,
    case when monthly_savings > 0 then cast(ceil(closing_costs / monthly_savings) as integer) end
        as breakeven_months,
    coalesce(engagement.engagement_score, 0) as engagement_score,
    date '{as_of}' - coalesce(clear_to_close.clear_to_close_on,
        case when status = 'clear_to_close' and status_date <= date '{as_of}' then status_date end)
        as days_since_clear_to_close,
    next_rate_reset_date - date '{as_of}' as days_to_rate_reset,
    case when original_value > 0 then cast(current_upb as double) / cast(original_value as double)
    end as upb_to_original_value,
    -- what the campaign rules test besides the features
    status, servicing_status, loan_purpose, occupancy, credit_score, original_amount,
    borrowers.annual_income, borrowers.is_investor
from with_savings as f
left join engagement on engagement.borrower_id = f.borrower_id
left join clear_to_close on clear_to_close.loan_id = f.loan_id
left join (
    select borrower_id, cast(annual_income as decimal(18, 2)) as annual_income,
        cast(is_investor as boolean) as is_investor
    from read_parquet('{landing}/borrowers.parquet')
) as borrowers on borrowers.borrower_id = f.borrower_id;

-- table: recent_conversions
-- Borrowers who converted on a product in (as_of − 365 days, as_of].
create or replace table recent_conversions as
select distinct borrower_id, lower(product) as product
from read_parquet('{landing}/conversions.parquet')
where converted_at <= date '{as_of}' and converted_at > date '{as_of}' - 365;

-- table: audience_refinance
create or replace table audience_refinance as
select as_of_date, 'refinance' as campaign_id, borrower_id, loan_id, breakeven_months,
    current_upb, monthly_savings, months_since_close, rate_spread_bps, servicing_status, status
from loan_features
where ((current_upb >= 400000 and rate_spread_bps >= 50)
        or (current_upb < 400000 and rate_spread_bps >= 75))
    and status = 'funded' and servicing_status = 'current' and months_since_close >= 6
    and monthly_savings >= 100 and breakeven_months <= 36
    and borrower_id not in (select borrower_id from recent_conversions where product = 'refinance')
qualify row_number() over (
    partition by borrower_id order by coalesce(current_upb, original_amount) desc, loan_id) = 1;

-- table: audience_heloc
create or replace table audience_heloc as
select as_of_date, 'heloc' as campaign_id, borrower_id, loan_id, available_equity,
    months_since_close, occupancy, servicing_status, status
from loan_features
where months_since_close between 24 and 36
    and status = 'funded' and servicing_status = 'current' and occupancy = 'primary'
    and available_equity >= 50000
    and borrower_id not in (select borrower_id from recent_conversions where product = 'heloc')
qualify row_number() over (
    partition by borrower_id order by coalesce(current_upb, original_amount) desc, loan_id) = 1;

-- table: audience_insurance
create or replace table audience_insurance as
select as_of_date, 'insurance' as campaign_id, borrower_id, loan_id, days_since_clear_to_close,
    loan_purpose, status
from loan_features
where days_since_clear_to_close >= 0 and days_since_clear_to_close < 7
    and loan_purpose = 'purchase' and status not in ('withdrawn', 'denied')
    and borrower_id not in (select borrower_id from recent_conversions where product = 'insurance')
qualify row_number() over (
    partition by borrower_id order by coalesce(current_upb, original_amount) desc, loan_id) = 1;

-- table: audience_investment_property
create or replace table audience_investment_property as
select as_of_date, 'investment_property' as campaign_id, borrower_id, loan_id, annual_income,
    credit_score, current_ltv, months_since_close, occupancy, servicing_status, status
from loan_features
where months_since_close between 12 and 24
    and status = 'funded' and servicing_status = 'current' and occupancy = 'primary'
    and (current_ltv <= 0.70 or annual_income >= 150000) and credit_score >= 700
    and borrower_id not in (
        select borrower_id from recent_conversions where product = 'investment_property')
qualify row_number() over (
    partition by borrower_id order by coalesce(current_upb, original_amount) desc, loan_id) = 1;

-- table: audience_post_close_welcome
create or replace table audience_post_close_welcome as
select as_of_date, 'post_close_welcome' as campaign_id, borrower_id, loan_id, days_since_close,
    status
from loan_features
where status = 'funded' and days_since_close >= 0 and days_since_close < 7
qualify row_number() over (
    partition by borrower_id order by coalesce(current_upb, original_amount) desc, loan_id) = 1;

-- table: audience_financial_planning
create or replace table audience_financial_planning as
select as_of_date, 'financial_planning' as campaign_id, borrower_id, loan_id, days_since_close,
    is_investor, occupancy, original_amount, servicing_status, status
from loan_features
where days_since_close between 60 and 90
    and status = 'funded' and servicing_status = 'current'
    and (original_amount > 500000 or is_investor = true or occupancy = 'investment')
    and borrower_id not in (
        select borrower_id from recent_conversions where product = 'financial_planning')
qualify row_number() over (
    partition by borrower_id order by coalesce(current_upb, original_amount) desc, loan_id) = 1;
