{{ config(materialized='table') }}
-- A table, not a view: its window over every drop runs once a night, and the features, the
-- audiences and the outreach stage read it several times.
select
    loan_id,
    borrower_id,
    loan_officer_id,
    lower(loan_purpose) as loan_purpose,
    lower(occupancy) as occupancy,
    lower(property_type) as property_type,
    upper(property_state) as property_state,
    property_zip,
    property_cbsa,
    property_census_tract,
    lower(rate_type) as rate_type,
    cast(term_months as integer) as term_months,
    cast(note_rate as decimal(18, 8)) as note_rate,
    cast(original_amount as decimal(18, 2)) as original_amount,
    cast(original_value as decimal(18, 2)) as original_value,
    cast(first_payment_date as date) as first_payment_date,
    cast(close_date as date) as close_date,
    cast(current_upb as decimal(18, 2)) as current_upb,
    lower(status) as status,
    cast(status_date as date) as status_date,
    lower(servicing_status) as servicing_status,
    cast(credit_score as integer) as credit_score,
    {{ xsell.to_boolean('has_pmi') }} as has_pmi,
    cast(next_rate_reset_date as date) as next_rate_reset_date
from {{ xsell.current_rows(xsell.accepted_rows('loans'), 'loan_id') }} as current_loans
