{{ config(materialized='incremental', incremental_strategy='append',
          meta={'history_of': 'engagement_events'}) }}
-- Every accepted delivery of an engagement event, typed, with whether it is the event's first:
-- history, appended night by night from the files read since (macros/history.sql). An event_id
-- delivered twice is one event; the first delivery (by file, then time) counts.
with arrived as (
    {{ xsell.history_rows('engagement_events') }}
),

deliveries as (
    select
        event_id,
        borrower_id,
        campaign_id,
        lower(event_type) as event_type,
        {{ xsell.utc_timestamp('occurred_at') }} as occurred_at,
        cast({{ xsell.utc_timestamp('occurred_at') }} as date) as occurred_on,
        detail,
        _source_file,
        _row_id,
        row_number() over (
            partition by event_id order by _source_file, occurred_at, _row_id
        ) as delivery
    from arrived
)

select
    deliveries.event_id,
    deliveries.borrower_id,
    deliveries.campaign_id,
    deliveries.event_type,
    deliveries.occurred_at,
    deliveries.occurred_on,
    deliveries.detail,
    deliveries._source_file,
    deliveries._row_id,
    deliveries.delivery = 1
    {%- if is_incremental() %} and delivered_before.event_id is null{% endif %} as is_first_delivery
from deliveries
{%- if is_incremental() %}
-- an event delivered on an earlier night: its first delivery is there already
left join (
    select distinct event_id
    from {{ this }}
    where event_id in (select event_id from arrived)
) as delivered_before
    on delivered_before.event_id = deliveries.event_id
{%- endif %}
