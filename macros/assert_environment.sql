{% macro assert_environment() %}
    {#-
        Refuse unknown environments, and prod unless the production job says so explicitly.
        The catalog ignores the case of schema names (Prod_silver is prod_silver), so any spelling of prod is prod,
        and only the exact lowercase names of `environments` are accepted. Environments and layers are fixed in
        dbt_project.yml: `--vars` could otherwise add a spelling of prod to the list. dbt's command line parses
        --vars into a mapping; arguments built another way may still hold the YAML text, so both are read.
    -#}
    {%- set cli_vars = invocation_args_dict.get('vars') or {} -%}
    {%- if cli_vars is string -%}
        {%- set cli_vars = fromyaml(cli_vars) or {} -%}
    {%- endif -%}
    {%- set overridden = ['environments', 'layers'] | select('in', cli_vars) | list -%}
    {%- if overridden -%}
        {{ exceptions.raise_compiler_error(
            "--vars may not set " ~ overridden | join(', ')
            ~ ": environments and layers are fixed in dbt_project.yml"
        ) }}
    {%- endif -%}
    {%- set environment = target.schema -%}
    {%- if environment | lower == 'prod' and env_var('LAKEHOUSE_ALLOW_PROD', '') != 'yes' -%}
        {{ exceptions.raise_compiler_error(
            "refusing to build prod: set LAKEHOUSE_ALLOW_PROD=yes in the production job only"
        ) }}
    {%- endif -%}
    {%- if environment not in var('environments') or environment != environment | lower -%}
        {{ exceptions.raise_compiler_error(
            "target schema (LAKEHOUSE_ENV) '" ~ environment ~ "' is not one of "
            ~ var('environments') | join(', ') ~ " (dbt_project.yml vars; lowercase)"
        ) }}
    {%- endif -%}
{% endmacro %}
