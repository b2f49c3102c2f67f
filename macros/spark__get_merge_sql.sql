{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) %}
    {#- dbt-spark's merge, its target bounded to the new rows' time window (merge_window_predicates). -#}
    {%- set predicates = merge_window_predicates(source, incremental_predicates) -%}
    {{ return(dbt.spark__get_merge_sql(target, source, unique_key, dest_columns, predicates)) }}
{% endmacro %}
