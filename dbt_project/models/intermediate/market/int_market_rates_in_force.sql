-- The rate in force on each as_of, per product: the latest observation dated on or before it
-- and already published by then.
with known as (
    select
        dates.as_of_date,
        rates.product,
        rates.rate_date,
        rates.rate,
        rates.apr,
        row_number() over (
            partition by dates.as_of_date, rates.product
            order by rates.rate_date desc, rates.known_on desc
        ) as recency
    from {{ ref('int_as_of_dates') }} as dates
    inner join {{ ref('stg_raw__market_rates') }} as rates
        on rates.rate_date <= dates.as_of_date
        and rates.known_on <= dates.as_of_date
)

select
    as_of_date,
    product,
    rate_date,
    rate as market_rate,
    apr as market_apr,
    {{ dbt.datediff('rate_date', 'as_of_date', 'day') }} as rate_age_days
from known
where recency = 1
