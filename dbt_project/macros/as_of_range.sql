{# The as_of dates this invocation builds: [min_date, max_date], defaulting to the one as_of. #}
{% macro min_as_of() -%}
    cast('{{ var("min_date") or var("as_of") }}' as date)
{%- endmacro %}

{% macro max_as_of() -%}
    cast('{{ var("max_date") or var("as_of") }}' as date)
{%- endmacro %}

{# Incremental marts replace exactly the nights being built; older nights are never touched. #}
{% macro replace_nights_filter() -%}
    as_of_date between {{ min_as_of() }} and {{ max_as_of() }}
{%- endmacro %}
