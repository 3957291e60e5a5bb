select distinct
    borrower_id,
    lower(channel) as channel,
    lower(action) as action,
    {{ xsell.utc_timestamp('recorded_at') }} as recorded_at,
    source
from {{ xsell.accepted_rows('contact_preferences') }} as arrived_contact_preferences
