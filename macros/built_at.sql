{% macro built_at() %}
    {#- The `_built_at` of the rows a build writes: the start of the dbt invocation, the same for every node. -#}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}
