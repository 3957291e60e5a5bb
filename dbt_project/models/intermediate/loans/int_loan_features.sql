{{ config(materialized='table') }}
-- Every loan's features for each night being built (RULES.md, "Loan features"), with the loan's
-- and borrower's own attributes that campaign rules test. The one table of the features step
-- (the models under it are views, each read once here): marts.loan_features copies its feature
-- columns, and the audiences read it through int_audience_candidates without another join.
{%- set fixed_30_term = 360 %}
{%- set fixed_15_term = 180 %}
with priced as (
    select
        loans.as_of_date,
        loans.loan_id,
        loans.borrower_id,
        loans.status,
        loans.status_date,
        loans.servicing_status,
        loans.close_date,
        loans.months_since_close,
        loans.days_since_close,
        loans.payments_made,
        loans.balance as current_upb,
        loans.original_value,
        loans.next_rate_reset_date,
        loans.scheduled_payment,
        loans.loan_purpose,
        loans.occupancy,
        loans.property_type,
        loans.property_state,
        loans.rate_type,
        loans.term_months,
        loans.note_rate,
        loans.original_amount,
        loans.credit_score,
        loans.has_pmi,
        valued.est_value,
        valued.value_method,
        rates.market_rate,
        rates.market_apr,
        rates.rate_date as market_rate_date,
        rates.rate_age_days as market_rate_age_days,
        case when loans.status = 'funded' then
            (loans.note_rate - rates.market_rate) * 100
        end as rate_spread_bps,
        case when loans.status = 'funded' then
            {{ xsell.round_money(xsell.level_payment(
                'cast(loans.balance as double)', 'cast(rates.market_rate as double)',
                'case when loans.term_months <= ' ~ fixed_15_term ~ " and loans.rate_type = 'fixed' then " ~ fixed_15_term ~ ' else ' ~ fixed_30_term ~ ' end')) }}
        end as new_payment,
        case when loans.status = 'funded' then
            {{ xsell.round_money('loans.balance * ' ~ var('closing_cost_rate')) }}
        end as closing_costs
    from {{ ref('int_loans_amortized') }} as loans
    left join {{ ref('int_loans_valued') }} as valued
        on valued.as_of_date = loans.as_of_date
        and valued.loan_id = loans.loan_id
    left join {{ ref('int_market_rates_in_force') }} as rates
        on rates.as_of_date = loans.as_of_date
        and loans.status = 'funded'
        and rates.product = case
            when loans.term_months <= {{ fixed_15_term }} and loans.rate_type = 'fixed' then 'fixed_15'
            else 'fixed_30'
        end
),

with_savings as (
    select
        *,
        scheduled_payment - new_payment as monthly_savings
    from priced
)

select
    with_savings.as_of_date,
    with_savings.loan_id,
    with_savings.borrower_id,
    case
        when status = 'application' then 'lead'
        when status = 'pre_approved' then 'pre_approved'
        when status in ('processing', 'clear_to_close') then 'in_processing'
        when status = 'funded' and days_since_close < {{ var('lifecycle_funded_days') }} then 'funded'
        when status = 'funded' and days_since_close < {{ var('lifecycle_post_close_days') }} then 'post_close'
        when status = 'funded' then 'long_term_nurture'
        when status = 'paid_off' then 'paid_off'
        when status in ('withdrawn', 'denied') then 'inactive'
    end as lifecycle_stage,
    months_since_close,
    days_since_close,
    payments_made,
    current_upb,
    est_value,
    case when status = 'funded' then value_method end as value_method,
    case when est_value > 0 then cast(current_upb as double) / cast(est_value as double) end
        as current_ltv,
    case when status = 'funded' then
        {{ xsell.round_money('greatest(0, est_value * ' ~ var('max_cltv') ~ ' - current_upb)') }}
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
    case when monthly_savings > 0
        then cast(ceil(closing_costs / monthly_savings) as integer) end as breakeven_months,
    coalesce(engaged.engagement_score, 0) as engagement_score,
    milestones.days_since_clear_to_close,
    {{ dbt.datediff('with_savings.as_of_date', 'next_rate_reset_date', 'day') }} as days_to_rate_reset,
    case when original_value > 0
        then cast(current_upb as double) / cast(original_value as double)
    end as upb_to_original_value,
    -- what campaign rules may test besides the features (int_audience_candidates)
    status,
    servicing_status,
    loan_purpose,
    occupancy,
    property_type,
    property_state,
    rate_type,
    term_months,
    note_rate,
    original_amount,
    original_value,
    credit_score,
    has_pmi,
    borrowers.annual_income,
    borrowers.is_investor,
    borrowers.borrower_id is not null as has_borrower_row
from with_savings
left join {{ ref('int_borrowers_engaged') }} as engaged
    on engaged.as_of_date = with_savings.as_of_date
    and engaged.borrower_id = with_savings.borrower_id
left join {{ ref('int_loan_milestones') }} as milestones
    on milestones.as_of_date = with_savings.as_of_date
    and milestones.loan_id = with_savings.loan_id
left join {{ ref('stg_raw__borrowers') }} as borrowers
    on borrowers.borrower_id = with_savings.borrower_id
