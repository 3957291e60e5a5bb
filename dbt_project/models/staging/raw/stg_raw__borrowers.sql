{{ config(materialized='table') }}
-- A table, not a view: its window over every drop runs once a night, and the features, the
-- audiences and the outreach stage read it several times.
select
    borrower_id,
    first_name,
    last_name,
    email,
    phone,
    mailing_address,
    mailing_city,
    upper(mailing_state) as mailing_state,
    mailing_zip,
    timezone,
    {{ xsell.to_boolean('is_investor') }} as is_investor,
    cast(annual_income as decimal(18, 2)) as annual_income
from {{ xsell.current_rows(xsell.accepted_rows('borrowers'), 'borrower_id') }} as current_borrowers
