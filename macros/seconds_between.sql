{% macro seconds_between(start_at, end_at) %}
    {{ return(adapter.dispatch('seconds_between')(start_at, end_at)) }}
{% endmacro %}

{% macro default__seconds_between(start_at, end_at) %}
    {{ dbt.datediff(start_at, end_at, 'second') }}
{%- endmacro %}

{% macro spark__seconds_between(start_at, end_at) %}
    {#- Microsecond-exact, unlike unix_timestamp(), which truncates to whole seconds. -#}
    ((unix_micros({{ end_at }}) - unix_micros({{ start_at }})) / 1000000.0)
{%- endmacro %}
