-- An event_id delivered twice is one event; the first delivery (by file, then time) counts.
select
    event_id,
    borrower_id,
    campaign_id,
    event_type,
    occurred_at,
    occurred_on,
    detail
from (
    select
        event_id,
        borrower_id,
        campaign_id,
        lower(event_type) as event_type,
        {{ xsell.utc_timestamp('occurred_at') }} as occurred_at,
        cast({{ xsell.utc_timestamp('occurred_at') }} as date) as occurred_on,
        detail,
        row_number() over (
            partition by event_id order by _source_file, occurred_at
        ) as delivery
    from {{ xsell.accepted_rows('engagement_events') }} as arrived_engagement_events
) as deliveries
where delivery = 1
