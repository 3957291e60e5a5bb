{# A state source may arrive as a folder of drops: where a key appears in several files, the
   row from the file whose name sorts last wins (INPUTS.md). #}
{% macro current_rows(relation, key) -%}
    (
        select *
        from (
            select
                *,
                row_number() over (partition by {{ key }} order by _source_file desc) as drop_rank
            from {{ relation }}
        ) as drops
        where drop_rank = 1
    )
{%- endmacro %}
