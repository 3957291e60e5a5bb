{#- On Spark the sources are Parquet folders the pipeline wrote for tonight
    (pipelines/lib/spark_target.py: <XSELL_SPARK_HOME>/sources/<schema>/<table>/). Each run
    registers them afresh as external tables, so a table's files and columns are re-listed. On
    DuckDB the sources are tables of the warehouse already, and this does nothing. -#}
{% macro register_spark_sources() %}
  {%- if execute and target.type == 'spark' -%}
    {%- set root = env_var('XSELL_SPARK_HOME', 'target/spark') ~ '/sources' -%}
    {#- outreach.* and the metrics tables are sources only for the docs: Python writes them
        after dbt, and no model reads them -#}
    {%- for source in graph.sources.values() | sort(attribute='unique_id')
        if source.schema in ('raw', 'validation', 'ops') -%}
      {%- set table = source.schema ~ '.' ~ source.identifier -%}
      {%- do run_query('create database if not exists ' ~ source.schema) -%}
      {%- do run_query('drop table if exists ' ~ table) -%}
      {%- do run_query('create table ' ~ table ~ " using parquet location '"
                       ~ root ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ "'") -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}

{#- Spark writes no file for a partitioned table with no rows, so a mart that is empty (a
    disabled campaign's audience, say) would leave readers of its Parquet without its columns.
    After each run, every mart built gets a schema-only Parquet file in
    <XSELL_SPARK_HOME>/mart-schemas/<mart>/ (pipelines/lib/spark_target.py reads it). -#}
{% macro save_spark_mart_schemas(results) %}
  {%- if execute and target.type == 'spark' -%}
    {%- set root = env_var('XSELL_SPARK_HOME', 'target/spark') ~ '/mart-schemas' -%}
    {%- for result in results
        if result.node.resource_type == 'model' and result.node.schema == 'marts'
           and result.status == 'success' -%}
      {%- do run_query("insert overwrite directory '" ~ root ~ '/' ~ result.node.name
                       ~ "' using parquet select * from " ~ result.node.schema ~ '.'
                       ~ result.node.name ~ ' limit 0') -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}
