{{ config(materialized='view') }}
-- Days since the loan reached clear-to-close, as of each night: the latest clear_to_close
-- milestone known on or before the as_of, else (no such milestone known that night) the
-- status_date of a loan whose status is clear_to_close.
with milestones as (
    select
        dates.as_of_date,
        events.loan_id,
        max(events.occurred_on) as clear_to_close_on
    from {{ ref('int_as_of_dates') }} as dates
    inner join {{ ref('stg_raw__loan_events') }} as events
        on events.occurred_on <= dates.as_of_date
    where events.milestone = 'clear_to_close'
    group by dates.as_of_date, events.loan_id
)

select
    loans.as_of_date,
    loans.loan_id,
    {{ dbt.datediff(
        "coalesce(milestones.clear_to_close_on,
            case when loans.status = 'clear_to_close' and loans.status_date <= loans.as_of_date
            then loans.status_date end)",
        'loans.as_of_date', 'day') }} as days_since_clear_to_close
from {{ ref('int_loans_amortized') }} as loans
left join milestones
    on milestones.as_of_date = loans.as_of_date
    and milestones.loan_id = loans.loan_id
