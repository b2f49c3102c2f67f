{% macro generate_schema_name(custom_schema_name, node) -%}
    {#-
        Models, seeds and snapshots name their layer by key (+schema: silver in dbt_project.yml) and land in
        <env>_<layer name>, e.g. dev_silver. Anything else (hooks, stored test failures) keeps dbt's default.
    -#}
    {%- set layers = var('layers') -%}
    {%- if node.resource_type in ['model', 'seed', 'snapshot'] -%}
        {%- if custom_schema_name not in layers -%}
            {{ exceptions.raise_compiler_error(
                node.resource_type ~ " " ~ node.name ~ ": schema '" ~ custom_schema_name
                ~ "' is not a layer; use one of " ~ layers.keys() | list
            ) }}
        {%- endif -%}
        {{ target.schema }}_{{ layers[custom_schema_name] }}
    {%- else -%}
        {{ default__generate_schema_name(custom_schema_name, node) }}
    {%- endif -%}
{%- endmacro %}
