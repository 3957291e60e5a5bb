{# A state source may arrive as a folder of drops: where a key appears in several files, the
   row from the file whose name sorts last wins (INPUTS.md). A key appears at most once in a
   file's accepted rows (validation quarantines a key repeated in one file, `key.unique`), so
   the winner is the row from the key's last file: a group-by and a join, which cost about
   half of ranking every row with a window (DuckDB turns that window into an aggregate over
   each row's every column; bench/README.md). #}
{% macro current_rows(relation, key) -%}
    (
        select drops.*
        from {{ relation }} as drops
        inner join (
            select {{ key }} as last_key, max(_source_file) as last_file
            from {{ relation }}
            group by {{ key }}
        ) as last_drops
            on last_drops.last_key = drops.{{ key }}
            and last_drops.last_file = drops._source_file
    )
{%- endmacro %}
