{{ config(materialized='table' if target.type == 'spark' else 'incremental',
          incremental_strategy='delete+insert', unique_key='borrower_id',
          meta={'history_of': 'borrowers', 'history_keeps': 'current_rows'}) }}
-- Each borrower_id's current row (the drop whose file name sorts last wins, INPUTS.md), typed:
-- a history brought up to date night by night, a new drop's rows replacing their keys' rows
-- (macros/history.sql). On Spark, which has no delete+insert on Parquet, a table rebuilt whole.
with arrived as (
    {{ xsell.history_rows('borrowers', last_row='_history_last_row') }}
),

read_through as (
    {{ xsell.history_read_through('borrowers') }}
)

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
    cast(annual_income as decimal(18, 2)) as annual_income,
    current_borrowers._source_file,
    current_borrowers._row_id,
    read_through._history_rows,
    read_through._history_row_ids,
    read_through._history_last_row
from {{ xsell.current_rows('arrived', 'borrower_id') }} as current_borrowers
cross join read_through
