{{ config(materialized='table' if target.type == 'spark' else 'incremental',
          incremental_strategy='delete+insert', unique_key='loan_id',
          meta={'history_of': 'loans', 'history_keeps': 'current_rows'}) }}
-- Each loan_id's current row (the drop whose file name sorts last wins, INPUTS.md), typed:
-- a history brought up to date night by night, a new drop's rows replacing their keys' rows
-- (macros/history.sql). On Spark, which has no delete+insert on Parquet, a table rebuilt whole.
with arrived as (
    {{ xsell.history_rows('loans', last_row='_history_last_row') }}
),

read_through as (
    {{ xsell.history_read_through('loans') }}
)

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
    cast(next_rate_reset_date as date) as next_rate_reset_date,
    current_loans._source_file,
    current_loans._row_id,
    read_through._history_rows,
    read_through._history_row_ids,
    read_through._history_last_row
from {{ xsell.current_rows('arrived', 'loan_id') }} as current_loans
cross join read_through
