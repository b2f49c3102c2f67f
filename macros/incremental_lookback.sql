{% macro incremental_lookback(column) %}
    {{ return(adapter.dispatch('incremental_lookback')(column)) }}
{% endmacro %}

{% macro default__incremental_lookback(column) %}
    {%- set days = var('lookback_days', 3) | int -%}
    (
        select {{ dbt.dateadd('day', -days, 'coalesce(max(' ~ column ~ "), cast('1900-01-01' as timestamp))") }}
        from {{ this }}
    )
{%- endmacro %}

{% macro spark__incremental_lookback(column) %}
    {%- set days = var('lookback_days', 3) | int -%}
    (
        select timestampadd(day, -{{ days }}, coalesce(max({{ column }}), cast('1900-01-01' as timestamp)))
        from {{ this }}
    )
{%- endmacro %}
