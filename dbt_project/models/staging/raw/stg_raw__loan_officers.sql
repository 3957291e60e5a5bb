select
    loan_officer_id,
    name,
    email,
    phone,
    nmls_id
from {{ xsell.current_rows(xsell.accepted_rows('loan_officers'), 'loan_officer_id') }} as current_loan_officers
