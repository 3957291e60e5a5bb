{# A raw source without the rows validation quarantined (INPUTS.md, "Bad input"). #}
{% macro accepted_rows(name) -%}
    (
        select *
        from {{ source('raw', name) }}
        where _row_id not in (
            select row_id from {{ source('validation', 'quarantine') }}
            where source_name = '{{ name }}'
        )
    )
{%- endmacro %}
