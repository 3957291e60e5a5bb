{{ config(materialized='view') }}
-- Each loan's estimated value: original_value moved by the most local HPI series that has both
-- the close-month and the as_of-month value known at the as_of (CBSA, then state, then national).
with lookups as (
    select
        loans.as_of_date,
        loans.loan_id,
        loans.original_value,
        cbsa_orig.index_value as cbsa_orig,
        cbsa_now.index_value as cbsa_now,
        state_orig.index_value as state_orig,
        state_now.index_value as state_now,
        national_orig.index_value as national_orig,
        national_now.index_value as national_now
    from {{ ref('int_loans_amortized') }} as loans
    {%- for level, code in [('cbsa', 'loans.property_cbsa'), ('state', 'loans.property_state'), ('national', "'US'")] %}
    {%- for moment, month in [('orig', 'loans.close_date'), ('now', 'loans.as_of_date')] %}
    left join {{ ref('int_hpi_in_force') }} as {{ level }}_{{ moment }}
        on {{ level }}_{{ moment }}.as_of_date = loans.as_of_date
        and {{ level }}_{{ moment }}.geo_level = '{{ level }}'
        and {{ level }}_{{ moment }}.geo_code = {{ code }}
        and {{ level }}_{{ moment }}.month_start = {{ xsell.month_start(month) }}
    {%- endfor %}
    {%- endfor %}
    where loans.status = 'funded'
),

chosen as (
    select
        as_of_date,
        loan_id,
        original_value,
        case
            when cbsa_orig is not null and cbsa_now is not null then 'cbsa'
            when state_orig is not null and state_now is not null then 'state'
            when national_orig is not null and national_now is not null then 'national'
            else 'none'
        end as value_method,
        case
            when cbsa_orig is not null and cbsa_now is not null then cbsa_now / cbsa_orig
            when state_orig is not null and state_now is not null then state_now / state_orig
            when national_orig is not null and national_now is not null
                then national_now / national_orig
            else 1.0
        end as hpi_growth
    from lookups
)

select
    as_of_date,
    loan_id,
    value_method,
    {{ xsell.round_money('cast(original_value as double) * hpi_growth') }} as est_value
from chosen
