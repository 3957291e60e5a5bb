-- Borrowers who met a campaign's trigger but were kept out, with the first rule that did it.
{%- set campaign_ids = var('campaigns', {}).keys() | list | sort %}
{%- if campaign_ids %}
{%- for campaign_id in campaign_ids %}
select * from ({{ xsell.campaign_exclusions(campaign_id) }}) as {{ campaign_id }}_exclusions
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- else %}
select
    cast(null as date) as as_of_date,
    cast(null as {{ dbt.type_string() }}) as campaign_id,
    cast(null as {{ dbt.type_string() }}) as borrower_id,
    cast(null as {{ dbt.type_string() }}) as loan_id,
    cast(null as {{ dbt.type_string() }}) as reason
where 1 = 0
{%- endif %}
