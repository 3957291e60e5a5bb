-- Each replayed loan's features at each night, per RULES.md "Loan features", from the loans as
-- known that night (table snapshots), market_rates and hpi (each row known from published_on).
-- Money formulas and constants are the dbt project's own macros and vars.
with typed as (
    -- the types stg_raw__loans gives these columns: rates and money compare as decimals
    select
        * replace (
            cast(note_rate as decimal(18, 8)) as note_rate,
            cast(original_amount as decimal(18, 2)) as original_amount,
            cast(original_value as decimal(18, 2)) as original_value,
            cast(current_upb as decimal(18, 2)) as current_upb
        )
    from snapshots
),

funded as (
    select
        *,
        {{ xsell.completed_months('close_date', 'as_of_date') }} as months_since_close,
        date_diff('day', close_date, as_of_date) as days_since_close,
        case
            when first_payment_date is null or as_of_date < first_payment_date then 0
            else least(term_months, {{ xsell.completed_months('first_payment_date', 'as_of_date') }} + 1)
        end as payments_made,
        {{ xsell.round_money(xsell.level_payment('cast(original_amount as double)', 'cast(note_rate as double)', 'term_months')) }}
            as scheduled_payment,
        cast(note_rate as double) / 1200.0 as monthly_rate,
        case when term_months <= 180 and rate_type = 'fixed' then 'fixed_15' else 'fixed_30' end
            as refinance_product
    from typed
    where in_book and status = 'funded'
),

balanced as (
    select
        * exclude (current_upb),
        coalesce(
            current_upb,
            {{ xsell.round_money(xsell.scheduled_balance(
                'cast(original_amount as double)', 'cast(scheduled_payment as double)',
                'monthly_rate', 'payments_made')) }}
        ) as current_upb
    from funded
),

rates_in_force as (
    select
        nights.as_of_date,
        rates.product,
        cast(arg_max(rates.rate, rates.rate_date) as decimal(18, 8)) as market_rate  -- as staged
    from (select distinct as_of_date from snapshots) as nights
    inner join market_rates as rates
        on rates.rate_date <= nights.as_of_date and rates.published_on <= nights.as_of_date
    group by all
),

hpi_known as (
    -- the latest known period on or before the close month (orig) and the night (now)
    select
        loans.as_of_date,
        loans.loan_id,
        hpi.geo_level,
        arg_max(hpi.index_value, hpi.period_start)
            filter (where hpi.period_start <= date_trunc('month', loans.close_date)) as hpi_orig,
        arg_max(hpi.index_value, hpi.period_start) as hpi_now
    from balanced as loans
    inner join hpi
        on hpi.published_on <= loans.as_of_date
        and hpi.period_start <= loans.as_of_date
        and (
            (hpi.geo_level = 'cbsa' and hpi.geo_code = loans.property_cbsa)
            or (hpi.geo_level = 'state' and hpi.geo_code = loans.property_state)
            or (hpi.geo_level = 'national' and hpi.geo_code = 'US')
        )
    group by all
),

valued as (
    -- the most local series with both values: CBSA, then state, then national
    select
        as_of_date,
        loan_id,
        coalesce(
            max(case when geo_level = 'cbsa' and hpi_orig is not null then 'cbsa' end),
            max(case when geo_level = 'state' and hpi_orig is not null then 'state' end),
            max(case when geo_level = 'national' and hpi_orig is not null then 'national' end),
            'none'
        ) as value_method,
        coalesce(
            max(case when geo_level = 'cbsa' then hpi_now / hpi_orig end),
            max(case when geo_level = 'state' then hpi_now / hpi_orig end),
            max(case when geo_level = 'national' then hpi_now / hpi_orig end),
            1.0
        ) as hpi_growth
    from hpi_known
    group by all
),

priced as (
    select
        loans.*,
        coalesce(valued.value_method, 'none') as value_method,
        {{ xsell.round_money('cast(loans.original_value as double) * coalesce(valued.hpi_growth, 1.0)') }}
            as est_value,
        rates.market_rate,
        (loans.note_rate - rates.market_rate) * 100 as rate_spread_bps,
        {{ xsell.round_money(xsell.level_payment(
            'cast(loans.current_upb as double)', 'cast(rates.market_rate as double)',
            "case when loans.refinance_product = 'fixed_15' then 180 else 360 end")) }}
            as new_payment,
        {{ xsell.round_money('loans.current_upb * ' ~ var('closing_cost_rate')) }} as closing_costs
    from balanced as loans
    left join valued using (as_of_date, loan_id)
    left join rates_in_force as rates
        on rates.as_of_date = loans.as_of_date and rates.product = loans.refinance_product
)

select
    as_of_date,
    loan_id,
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
    months_since_close,
    days_since_close,
    current_upb,
    est_value,
    value_method,
    case when est_value > 0 then cast(current_upb as double) / cast(est_value as double) end
        as current_ltv,
    case when original_value > 0 then cast(current_upb as double) / cast(original_value as double) end
        as upb_to_original_value,
    {{ xsell.round_money('greatest(0, est_value * ' ~ var('max_cltv') ~ ' - current_upb)') }}
        as available_equity,
    market_rate,
    rate_spread_bps,
    scheduled_payment,
    new_payment,
    scheduled_payment - new_payment as monthly_savings,
    case when scheduled_payment - new_payment > 0
        then cast(ceil(closing_costs / (scheduled_payment - new_payment)) as integer) end
        as breakeven_months
from priced
