{{ config(materialized='view') }}
-- Each borrower's engagement score on each as_of: weighted events decaying by half every
-- `engagement_half_life_days`, over distinct events dated on or before the as_of.
{%- set weights = var('engagement_weights') %}
with scored_events as (
    select
        dates.as_of_date,
        events.borrower_id,
        case events.event_type
            {%- for event_type, weight in weights.items() %}
            when '{{ event_type }}' then {{ weight }}
            {%- endfor %}
            else 0
        end * power(
            0.5,
            {{ dbt.datediff('events.occurred_on', 'dates.as_of_date', 'day') }}
            / {{ var('engagement_half_life_days') }}.0
        ) as points
    from {{ ref('int_as_of_dates') }} as dates
    inner join {{ ref('stg_raw__engagement_events') }} as events
        on events.occurred_on <= dates.as_of_date
)

select
    as_of_date,
    borrower_id,
    cast(round(cast(sum(points) as decimal(38, 10)), 2) as decimal(12, 2)) as engagement_score
from scored_events
group by as_of_date, borrower_id
