{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) %}
    {#-
        dbt-spark's merge, its target bounded to the new rows' time window (merge_window_predicates). The new rows,
        a temporary view of the model's query, are cached first: the window's bound and the merge then evaluate
        the query once rather than twice. The materialization drops the view at its end, which uncaches it.
    -#}
    {%- if config.get('merge_window_column') -%}
        {%- do run_query('cache table ' ~ source) -%}
    {%- endif -%}
    {%- set predicates = merge_window_predicates(source, incremental_predicates) -%}
    {{ return(dbt.spark__get_merge_sql(target, source, unique_key, dest_columns, predicates)) }}
{% endmacro %}
