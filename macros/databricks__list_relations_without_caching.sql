{% macro databricks__list_relations_without_caching(schema_relation) %}
    {#-
        dbt-databricks' own listing, unchanged. Without this, the project's spark__ version would replace it on the
        databricks target: for dbt's macros, dispatch looks for databricks__ then spark__ in the root project before
        it looks in the adapter's macros. (dbt-databricks' catalog reads information_schema, not this listing.)
    -#}
    {{ return(dbt.databricks__list_relations_without_caching(schema_relation)) }}
{% endmacro %}
