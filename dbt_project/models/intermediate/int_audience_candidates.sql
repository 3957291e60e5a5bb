{{ config(materialized='view') }}
-- What a campaign condition may test: a loan's features with the loan's and borrower's own
-- attributes, for loans whose borrower has a row. Its columns are the allow-list in
-- pipelines/lib/campaigns.py (FEATURES). A view: int_loan_features already carries them.
select
    as_of_date,
    loan_id,
    borrower_id,
    status,
    servicing_status,
    loan_purpose,
    occupancy,
    property_type,
    property_state,
    rate_type,
    lifecycle_stage,
    value_method,
    term_months,
    note_rate,
    original_amount,
    original_value,
    credit_score,
    annual_income,
    months_since_close,
    days_since_close,
    days_since_clear_to_close,
    days_to_rate_reset,
    current_upb,
    est_value,
    current_ltv,
    upb_to_original_value,
    available_equity,
    market_rate,
    rate_spread_bps,
    scheduled_payment,
    new_payment,
    monthly_savings,
    breakeven_months,
    engagement_score,
    is_investor,
    has_pmi
from {{ ref('int_loan_features') }}
where has_borrower_row
