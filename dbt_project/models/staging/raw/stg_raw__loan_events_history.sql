{{ config(materialized='incremental', incremental_strategy='append',
          meta={'history_of': 'loan_events'}) }}
-- Every accepted loan milestone row, typed: history, appended night by night from the files
-- read since (macros/history.sql).
select
    loan_id,
    lower(milestone) as milestone,
    {{ xsell.utc_timestamp('occurred_at') }} as occurred_at,
    cast({{ xsell.utc_timestamp('occurred_at') }} as date) as occurred_on,
    _source_file,
    _row_id
from ({{ xsell.history_rows('loan_events') }}) as arrived
