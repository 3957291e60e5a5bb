{# The nights this invocation builds come from ops.build_nights, written by the ingest step
   (one row for a night, several for a backfill). Reading them from a table rather than a var
   keeps the dbt vars the same night after night, so dbt's partial parsing holds. #}
{% macro min_as_of() -%}
    (select min(as_of_date) from {{ source('ops', 'build_nights') }})
{%- endmacro %}

{% macro max_as_of() -%}
    (select max(as_of_date) from {{ source('ops', 'build_nights') }})
{%- endmacro %}
