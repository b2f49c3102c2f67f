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
    {#-
        The target schema is the environment, or in dev a developer's own prefix, dev_<developer>
        (profiles.yml, LAKEHOUSE_DEVELOPER). On Databricks developers share the dev catalog, so a developer is
        required there, and each environment must be in its own catalog, <prefix>_<environment>.
    -#}
    {%- set environment = target.schema -%}
    {%- set developer = '' -%}
    {%- if target.schema.startswith('dev_') -%}
        {%- set environment, developer = 'dev', target.schema[4:] -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', developer) -%}
            {{ exceptions.raise_compiler_error(
                "LAKEHOUSE_DEVELOPER '" ~ developer ~ "' is not a lowercase identifier (letters, digits, _)"
            ) }}
        {%- endif -%}
    {%- endif -%}
    {%- if target.type == 'databricks' -%}
        {%- if environment == 'dev' and not developer -%}
            {{ exceptions.raise_compiler_error(
                "on Databricks a developer's run lands in schemas of their own (dev_<developer>_<layer>):"
                ~ " set LAKEHOUSE_DEVELOPER, e.g. to your user name"
            ) }}
        {%- endif -%}
        {%- if not target.database.endswith('_' ~ environment) -%}
            {{ exceptions.raise_compiler_error(
                "catalog '" ~ target.database ~ "' is not the " ~ environment ~ " catalog (<prefix>_" ~ environment ~ ")"
            ) }}
        {%- endif -%}
    {%- endif -%}
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
