-- Each engagement event once: its first delivery (stg_raw__engagement_events_history).
select
    event_id,
    borrower_id,
    campaign_id,
    event_type,
    occurred_at,
    occurred_on,
    detail
from {{ ref('stg_raw__engagement_events_history') }}
where is_first_delivery
