{# A campaign's audience for each as_of in range: one row per borrower, the qualifying loan with
   the largest balance (current_upb, or original_amount before funding; ties: smallest
   loan_id), with the values of every feature its rules name. A disabled or unknown campaign
   builds no rows. #}
{% macro campaign_audience(campaign_id) -%}
{%- set campaign = var('campaigns', {}).get(campaign_id) -%}
{%- set rule_features = campaign.rule_features if campaign else [] -%}
with evaluated as (
    {{ xsell.evaluate_campaign(campaign_id) }}
)

select
    as_of_date,
    cast('{{ campaign_id }}' as {{ dbt.type_string() }}) as campaign_id,
    borrower_id,
    loan_id
    {%- for feature in rule_features %},
    {{ xsell.feature_column(feature) }}
    {%- endfor %}
from evaluated
where in_audience and borrower_rank = 1
{%- endmacro %}


{# Every loan that met the campaign's trigger, with whether it is in the audience and, if not,
   the first rule that kept it out. #}
{% macro evaluate_campaign(campaign_id) -%}
{%- set campaign = var('campaigns', {}).get(campaign_id) -%}
{%- if not campaign or not campaign.enabled %}
    select *, false as in_audience, cast(null as {{ dbt.type_string() }}) as excluded_reason,
        1 as borrower_rank
    from {{ ref('int_audience_candidates') }}
    where 1 = 0
{%- else %}
    select
        *,
        row_number() over (
            partition by as_of_date, in_audience, borrower_id
            order by coalesce(current_upb, original_amount) desc, loan_id
        ) as borrower_rank
    from (
        select
            candidates.*,
            excluded_reason is null as in_audience
        from (
            select
                candidates.*,
                case
                    when 1 = 0 then null
                    {%- for rule in campaign.eligibility %}
                    when not {{ xsell.condition_met(rule) }}
                        then '{{ xsell.describe_condition(rule) | replace("'", "''") }}'
                    {%- endfor %}
                    {%- if campaign.product %}
                    when recent_conversion.borrower_id is not null
                        then 'converted on {{ campaign.product }} within {{ campaign.exclude_converted_within_days }} days'
                    {%- endif %}
                end as excluded_reason
            from {{ ref('int_audience_candidates') }} as candidates
            {%- if campaign.product %}
            left join (
                select distinct dates.as_of_date, conversions.borrower_id
                from {{ ref('int_as_of_dates') }} as dates
                inner join {{ ref('stg_raw__conversions') }} as conversions
                    on conversions.converted_at <= dates.as_of_date
                    and conversions.converted_at > {{ dbt.dateadd('day', -campaign.exclude_converted_within_days, 'dates.as_of_date') }}
                where conversions.product = '{{ campaign.product }}'
            ) as recent_conversion
                on recent_conversion.as_of_date = candidates.as_of_date
                and recent_conversion.borrower_id = candidates.borrower_id
            {%- endif %}
            where true
            {%- for rule in campaign.trigger %}
                and {{ xsell.condition_met(rule) }}
            {%- endfor %}
        ) as candidates
    ) as judged
{%- endif %}
{%- endmacro %}


{# Borrowers who met a campaign's trigger but are in none of its audience's rows. #}
{% macro campaign_exclusions(campaign_id) -%}
with evaluated as (
    {{ xsell.evaluate_campaign(campaign_id) }}
),

in_audience as (
    select distinct as_of_date, borrower_id from evaluated where in_audience
)

select
    evaluated.as_of_date,
    cast('{{ campaign_id }}' as {{ dbt.type_string() }}) as campaign_id,
    evaluated.borrower_id,
    evaluated.loan_id,
    evaluated.excluded_reason as reason
from evaluated
left join in_audience
    on in_audience.as_of_date = evaluated.as_of_date
    and in_audience.borrower_id = evaluated.borrower_id
where not evaluated.in_audience
    and evaluated.borrower_rank = 1
    and in_audience.borrower_id is null
{%- endmacro %}
