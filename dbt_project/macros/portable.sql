{# SQL that differs between engines, dispatched per adapter so the models stay portable. #}

{# Dates from start to stop inclusive, one row each, as column `day`. #}
{% macro day_series(start, stop) -%}
    {{ return(adapter.dispatch('day_series', 'xsell')(start, stop)) }}
{%- endmacro %}
{% macro default__day_series(start, stop) -%}
    select cast(range as date) as day
    from range({{ start }}, {{ stop }} + interval 1 day, interval 1 day)
{%- endmacro %}
{% macro spark__day_series(start, stop) -%}
    select explode(sequence({{ start }}, {{ stop }}, interval 1 day)) as day
{%- endmacro %}

{# First days of months from start to stop inclusive, as column `month_start`. #}
{% macro month_series(start, stop) -%}
    {{ return(adapter.dispatch('month_series', 'xsell')(start, stop)) }}
{%- endmacro %}
{% macro default__month_series(start, stop) -%}
    select cast(range as date) as month_start
    from range({{ start }}, {{ stop }} + interval 1 day, interval 1 month)
{%- endmacro %}
{% macro spark__month_series(start, stop) -%}
    select explode(sequence({{ start }}, {{ stop }}, interval 1 month)) as month_start
{%- endmacro %}

{# ISO timestamp text with an offset or Z (none means UTC) to a UTC timestamp. #}
{% macro utc_timestamp(text) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'xsell')(text)) }}
{%- endmacro %}
{% macro default__utc_timestamp(text) -%}
    cast(timezone('UTC', cast({{ text }} as timestamptz)) as timestamp)
{%- endmacro %}
{# Spark parses the offset but needs the seconds when an offset follows HH:MM (validation
   allows 2026-11-20T01:30+02:00), so they are added. A text without an offset is read in the
   session time zone, which the spark target sets to UTC. #}
{% macro spark__utc_timestamp(text) -%}
    cast(regexp_replace({{ text }}, '^(.{16})([^:]|$)', '$1:00$2') as timestamp)
{%- endmacro %}

{# The first day of the month a date falls in. #}
{% macro month_start(d) -%}
    {{ return(adapter.dispatch('month_start', 'xsell')(d)) }}
{%- endmacro %}
{% macro default__month_start(d) -%}
    cast(date_trunc('month', {{ d }}) as date)
{%- endmacro %}
{% macro spark__month_start(d) -%}
    cast(trunc({{ d }}, 'MM') as date)
{%- endmacro %}

{# Text to boolean, accepting the spellings the validation step allows. #}
{% macro to_boolean(text) -%}
    case
        when lower({{ text }}) in ('true', 't', '1', 'yes', 'y') then true
        when lower({{ text }}) in ('false', 'f', '0', 'no', 'n') then false
    end
{%- endmacro %}
