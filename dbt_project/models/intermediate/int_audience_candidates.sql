-- What a campaign condition may test: a loan's features with the loan's and borrower's own
-- attributes. Its columns are the allow-list in pipelines/lib/campaigns.py (FEATURES).
select
    features.as_of_date,
    features.loan_id,
    features.borrower_id,
    loans.status,
    loans.servicing_status,
    loans.loan_purpose,
    loans.occupancy,
    loans.property_type,
    loans.property_state,
    loans.rate_type,
    features.lifecycle_stage,
    features.value_method,
    loans.term_months,
    loans.note_rate,
    loans.original_amount,
    loans.original_value,
    loans.credit_score,
    borrowers.annual_income,
    features.months_since_close,
    features.days_since_close,
    features.days_since_clear_to_close,
    features.days_to_rate_reset,
    features.current_upb,
    features.est_value,
    features.current_ltv,
    features.upb_to_original_value,
    features.available_equity,
    features.market_rate,
    features.rate_spread_bps,
    features.scheduled_payment,
    features.new_payment,
    features.monthly_savings,
    features.breakeven_months,
    features.engagement_score,
    borrowers.is_investor,
    loans.has_pmi
from {{ ref('int_loan_features') }} as features
inner join {{ ref('stg_raw__loans') }} as loans
    on loans.loan_id = features.loan_id
inner join {{ ref('stg_raw__borrowers') }} as borrowers
    on borrowers.borrower_id = features.borrower_id
