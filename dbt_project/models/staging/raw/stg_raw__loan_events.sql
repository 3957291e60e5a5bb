-- Each loan milestone once: a row repeated in the drops is one row (INPUTS.md, log sources).
select distinct
    loan_id,
    milestone,
    occurred_at,
    occurred_on
from {{ ref('stg_raw__loan_events_history') }}
