select distinct
    loan_id,
    lower(milestone) as milestone,
    {{ xsell.utc_timestamp('occurred_at') }} as occurred_at,
    cast({{ xsell.utc_timestamp('occurred_at') }} as date) as occurred_on
from {{ xsell.accepted_rows('loan_events') }} as arrived_loan_events
