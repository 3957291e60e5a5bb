{{ config(materialized='view') }}
-- Each loan on each as_of: time since close, payments made and the amortized balance.
-- Balance features exist only for funded loans (RULES.md).
with loan_nights as (
    select
        dates.as_of_date,
        loans.*,
        cast(loans.note_rate as double) / 1200.0 as monthly_rate
    from {{ ref('int_as_of_dates') }} as dates
    cross join {{ ref('stg_raw__loans') }} as loans
),

timed as (
    select
        *,
        case when close_date is not null
            then {{ xsell.completed_months('close_date', 'as_of_date') }} end as months_since_close,
        case when close_date is not null
            then {{ dbt.datediff('close_date', 'as_of_date', 'day') }} end as days_since_close,
        case when status = 'funded' then
            case
                when first_payment_date is null or as_of_date < first_payment_date then 0
                else least(
                    term_months,
                    {{ xsell.completed_months('first_payment_date', 'as_of_date') }} + 1
                )
            end
        end as payments_made,
        case when status = 'funded' then
            {{ xsell.round_money(xsell.level_payment('cast(original_amount as double)', 'cast(note_rate as double)', 'term_months')) }}
        end as scheduled_payment
    from loan_nights
)

select
    *,
    case when status = 'funded' then
        coalesce(
            current_upb,
            {{ xsell.round_money(xsell.scheduled_balance(
                'cast(original_amount as double)', 'cast(scheduled_payment as double)',
                'monthly_rate', 'payments_made')) }}
        )
    end as balance
from timed
