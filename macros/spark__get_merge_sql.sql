{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) %}
    {#-
        dbt-spark's merge, its target bounded to the new rows' time window (merge_window_predicates). The window's
        bound and the merge each evaluate the new rows (a temporary view of the model's query); they see the same
        rows because the models that set merge_window_column read bronze at one version (pinned) and their checked
        rows from the expectations' cache.
    -#}
    {%- set predicates = merge_window_predicates(source, incremental_predicates) -%}
    {{ return(dbt.spark__get_merge_sql(target, source, unique_key, dest_columns, predicates)) }}
{% endmacro %}
