{#- A history model keeps what a source's accepted rows say, typed, and is brought up to date
    night by night: an incremental run reads only the rows of files read since it last ran (a
    file read later always gets a higher `_row_id`, pipelines/lib/landing.py). A log source's
    history keeps every row (meta history_keeps: every_row; appended); a state source's keeps
    each key's current row (history_keeps: current_rows; a new drop's rows replace their keys'
    rows, delete+insert). That is right while the source only grew: no file left or changed, no
    earlier row's quarantine verdict changed, and every new file sorts after the ones before
    (so a first delivery stays first and a later drop still wins). Before any model runs,
    `rebuild_changed_histories` drops a history whose source did anything else, and the model is
    then built whole, as on the first night or with --full-refresh. -#}

{#- The source's accepted rows this run adds to the history `this`: all of them when the model
    is built whole. `last_row` is the history's column that holds the last `_row_id` it read. -#}
{% macro history_rows(source_name, last_row='_row_id') -%}
    select *
    from {{ xsell.accepted_rows(source_name) }} as arrived
    {%- if is_incremental() %}
    where _row_id > (select coalesce(max({{ last_row }}), -1) from {{ this }})
    {%- endif %}
{%- endmacro %}


{#- A current-rows history cannot count the rows it read (later drops replaced some), so each
    build stores, on the rows it writes, how many accepted rows the source has, the sum of their
    `_row_id`s and the last one: the check compares them with the source's. (Whenever a build
    writes rows, its last row read is the source's last accepted row; read from the source
    alone, the new rows are not scanned twice.) -#}
{% macro history_read_through(source_name) -%}
    select
        count(*) as _history_rows,
        coalesce(sum(_row_id), 0) as _history_row_ids,
        coalesce(max(_row_id), -1) as _history_last_row
    from {{ xsell.accepted_rows(source_name) }} as accepted
{%- endmacro %}


{#- on-run-start: for each selected history model (config meta.history_of names its source)
    whose table exists, check that the source only grew since; drop the table when not. -#}
{% macro rebuild_changed_histories() %}
  {%- if execute and flags.WHICH in ('run', 'build') and not flags.FULL_REFRESH -%}
    {%- for node in graph.nodes.values() | sort(attribute='unique_id')
        if node.resource_type == 'model' and node.config.meta.get('history_of')
           and node.unique_id in selected_resources -%}
      {%- set history = adapter.get_relation(database=node.database, schema=node.schema,
                                             identifier=node.alias) -%}
      {%- if history is not none and not xsell.history_only_grew(
              history, node.config.meta.history_of, node.config.meta.history_keeps) -%}
        {{ log('history ' ~ node.name ~ ': ' ~ node.config.meta.history_of
               ~ ' changed other than by new files; rebuilding it whole', info=true) }}
        {%- do adapter.drop_relation(history) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}


{#- Whether the accepted rows of `source_name` up to the last `_row_id` the history read are
    the rows it read (count and sum of `_row_id`), and the rows after it come from files that
    sort after every file before. -#}
{% macro history_only_grew(history, source_name, keeps) %}
  {%- set raw = graph.sources['source.xsell.raw.' ~ source_name] -%}
  {%- set quarantine = graph.sources['source.xsell.validation.quarantine'] -%}
  {%- set check -%}
    with kept as (
        {%- if keeps == 'current_rows' %}
        select
            coalesce(max(_history_rows), 0) as kept_rows,
            coalesce(max(_history_row_ids), 0) as kept_total,
            coalesce(max(_history_last_row), -1) as last_row
        from {{ history }}
        where _history_last_row = (select max(_history_last_row) from {{ history }})
        {%- else %}
        select
            count(*) as kept_rows,
            coalesce(sum(_row_id), 0) as kept_total,
            coalesce(max(_row_id), -1) as last_row
        from {{ history }}
        {%- endif %}
    ),

    arrived as (
        select _row_id, _source_file
        from {{ api.Relation.create(database=raw.database, schema=raw.schema, identifier=raw.identifier) }}
        where _row_id not in (
            select row_id
            from {{ api.Relation.create(database=quarantine.database, schema=quarantine.schema, identifier=quarantine.identifier) }}
            where source_name = '{{ source_name }}'
        )
    )

    select
        kept.kept_rows,
        kept.kept_total,
        coalesce(sum(case when arrived._row_id <= kept.last_row then 1 else 0 end), 0) as old_rows,
        coalesce(sum(case when arrived._row_id <= kept.last_row then arrived._row_id else 0 end), 0) as old_total,
        max(case when arrived._row_id <= kept.last_row then arrived._source_file end) as last_file,
        min(case when arrived._row_id > kept.last_row then arrived._source_file end) as first_new_file
    from kept
    left join arrived on 1 = 1
    group by kept.kept_rows, kept.kept_total, kept.last_row
  {%- endset -%}
  {%- set row = run_query(check).rows[0] -%}
  {%- set kept_rows, kept_total, old_rows, old_total, last_file, first_new_file = row -%}
  {{ return(kept_rows == old_rows and kept_total == old_total
            and (first_new_file is none or last_file is none or first_new_file > last_file)) }}
{% endmacro %}
