{% macro databricks__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) %}
    {#-
        dbt-databricks' own merge, its target bounded like on Spark (merge_window_predicates). Without this the
        project's spark__ version would replace it on the databricks target (dispatch looks for databricks__, then
        spark__, in the root project before the adapter's macros).
    -#}
    {%- set predicates = merge_window_predicates(source, incremental_predicates) -%}
    {{ return(dbt.databricks__get_merge_sql(target, source, unique_key, dest_columns, predicates)) }}
{% endmacro %}
