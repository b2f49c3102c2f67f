{% macro assert_environment() %}
    {#- Refuse unknown environments, and prod unless the production job says so explicitly. -#}
    {%- set environment = target.schema -%}
    {%- if environment not in var('environments') -%}
        {{ exceptions.raise_compiler_error(
            "target schema (LAKEHOUSE_ENV) '" ~ environment ~ "' is not one of " ~ var('environments')
        ) }}
    {%- endif -%}
    {%- if environment == 'prod' and env_var('LAKEHOUSE_ALLOW_PROD', '') != 'yes' -%}
        {{ exceptions.raise_compiler_error(
            "refusing to build prod: set LAKEHOUSE_ALLOW_PROD=yes in the production job only"
        ) }}
    {%- endif -%}
{% endmacro %}
