-- Each borrower_id's current row, typed (stg_raw__borrowers_current, without its bookkeeping).
select
    borrower_id,
    first_name,
    last_name,
    email,
    phone,
    mailing_address,
    mailing_city,
    mailing_state,
    mailing_zip,
    timezone,
    is_investor,
    annual_income
from {{ ref('stg_raw__borrowers_current') }}
