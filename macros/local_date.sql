{% macro local_date(utc_timestamp, time_zone) %}
    {{ return(adapter.dispatch('local_date')(utc_timestamp, time_zone)) }}
{% endmacro %}

{% macro default__local_date(utc_timestamp, time_zone) %}
    cast(convert_timezone('UTC', {{ time_zone }}, {{ utc_timestamp }}) as date)
{%- endmacro %}

{% macro spark__local_date(utc_timestamp, time_zone) %}
    to_date(from_utc_timestamp({{ utc_timestamp }}, {{ time_zone }}))
{%- endmacro %}
