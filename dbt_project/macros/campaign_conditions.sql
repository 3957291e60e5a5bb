{# Campaign conditions arrive as typed data (the `campaigns` var, checked by
   pipelines/lib/campaigns.py against a feature allow-list and typed values). These macros turn
   them into SQL; a value is rendered only after its type is checked here again. #}

{% macro sql_literal(value) -%}
    {%- if value is sameas true -%} true
    {%- elif value is sameas false -%} false
    {%- elif value is number -%} {{ value }}
    {%- elif value is string and modules.re.match('^[A-Za-z0-9_]+$', value) -%} '{{ value }}'
    {%- else -%} {{ exceptions.raise_compiler_error("campaign condition value " ~ value ~ " is not a number, boolean or plain word") }}
    {%- endif -%}
{%- endmacro %}

{% macro condition_sql(node) -%}
    {%- set operators = {'=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>='} -%}
    {%- if node.any_of is defined -%}
        ({% for c in node.any_of %}{{ xsell.condition_sql(c) }}{% if not loop.last %} or {% endif %}{% endfor %})
    {%- elif node.all_of is defined -%}
        ({% for c in node.all_of %}{{ xsell.condition_sql(c) }}{% if not loop.last %} and {% endif %}{% endfor %})
    {%- elif node.op in ('in', 'not_in') -%}
        ({{ xsell.feature_column(node.feature) }} {{ 'not in' if node.op == 'not_in' else 'in' }}
         ({% for v in node.value %}{{ xsell.sql_literal(v) }}{% if not loop.last %}, {% endif %}{% endfor %}))
    {%- elif node.op in operators -%}
        ({{ xsell.feature_column(node.feature) }} {{ operators[node.op] }} {{ xsell.sql_literal(node.value) }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown condition operator " ~ node.op) }}
    {%- endif -%}
{%- endmacro %}

{% macro feature_column(name) -%}
    {%- if not modules.re.match('^[a-z_][a-z0-9_]*$', name) -%}
        {{ exceptions.raise_compiler_error("feature name " ~ name ~ " is not a column name") }}
    {%- endif -%}
    {{ adapter.quote(name) }}
{%- endmacro %}

{# A condition that is unknown (a null feature) counts as not met. #}
{% macro condition_met(node) -%}
    coalesce({{ xsell.condition_sql(node) }}, false)
{%- endmacro %}

{% macro describe_condition(node) -%}
    {%- if node.any_of is defined -%}
        ({% for c in node.any_of %}{{ xsell.describe_condition(c) }}{% if not loop.last %} or {% endif %}{% endfor %})
    {%- elif node.all_of is defined -%}
        ({% for c in node.all_of %}{{ xsell.describe_condition(c) }}{% if not loop.last %} and {% endif %}{% endfor %})
    {%- else -%}
        {{ node.feature }} {{ node.op }} {{ node.value | tojson }}
    {%- endif -%}
{%- endmacro %}
