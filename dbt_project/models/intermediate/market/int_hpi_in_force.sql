-- For each as_of, geography and calendar month: the index value of the latest period that
-- started on or before that month and was already published at the as_of. Looking a loan up by
-- the month of its close date gives HPI_orig; by the month of the as_of, HPI_now.
with known as (
    select
        dates.as_of_date,
        hpi.geo_level,
        hpi.geo_code,
        hpi.period_start,
        hpi.index_value
    from {{ ref('int_as_of_dates') }} as dates
    inner join {{ ref('stg_raw__hpi') }} as hpi
        on hpi.known_on <= dates.as_of_date
        and hpi.period_start <= dates.as_of_date
    where hpi.geo_level in ('cbsa', 'state', 'national')
),

spans as (
    select
        *,
        lead(period_start) over (
            partition by as_of_date, geo_level, geo_code order by period_start
        ) as next_period_start
    from known
),

months as (
    {{ xsell.month_series("cast('" ~ var('hpi_history_start', '1970-01-01') ~ "' as date)", xsell.max_as_of()) }}
)

select
    spans.as_of_date,
    spans.geo_level,
    spans.geo_code,
    months.month_start,
    spans.index_value
from spans
inner join months
    on months.month_start >= spans.period_start
    and (spans.next_period_start is null or months.month_start < spans.next_period_start)
    and months.month_start <= spans.as_of_date
