{% macro grant_layer_access() %}
    {#-
        on-run-end: what a model's `grants` cannot say. On Databricks (Unity Catalog) reading a granted table also
        needs USE SCHEMA, and bronze is written by ingestion, not by dbt, so its principal gets its privileges on
        the schema itself. Elsewhere there is no GRANT, and the run says so once.
    -#}
    {{ return(adapter.dispatch('grant_layer_access', 'lakehouse')()) }}
{% endmacro %}

{% macro default__grant_layer_access() %}
    {#- One line per run, not one per model (spark__apply_grants skips them silently). -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set configured = [] -%}
    {%- for result in results if result.node.config.get('grants') -%}
        {%- do configured.append(result.node.name) -%}
    {%- endfor -%}
    {%- if configured -%}
        {{ log(
            "grants: not applied on the " ~ target.type ~ " target, which has no GRANT ("
            ~ configured | length ~ " models and seeds of this run configure them; Databricks applies them)",
            info=True
        ) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{% macro databricks__grant_layer_access() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {#- Whoever may select a layer's tables (their `grants`, dbt_project.yml) may use its schema. -#}
    {%- set privileges = {var('layers')['bronze']: {var('ingestion_principal', 'lakehouse-ingestion'): 'use schema, select, modify, create table'}} -%}
    {%- for node in graph.nodes.values() if node.resource_type in ['model', 'seed'] and node.package_name == project_name -%}
        {%- for principal in node.config.grants.get('select', []) -%}
            {%- do privileges.setdefault(var('layers')[node.config.schema], {}).update({principal: 'use schema'}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for layer, grants in privileges.items() -%}
        {%- set schema = target.schema ~ '_' ~ layer -%}
        {#- Bronze exists once ingestion ran; silver and gold once a model was built there. -#}
        {%- if adapter.check_schema_exists(target.database, schema) -%}
            {%- for principal, granted in grants.items() -%}
                {%- if not principal or '`' in principal -%}
                    {{ exceptions.raise_compiler_error("grants: '" ~ principal ~ "' is not a principal name") }}
                {%- endif -%}
                {% call statement('grant_layer_access', auto_begin=False) %}
                    grant {{ granted }} on schema {{ adapter.quote(target.database) }}.{{ adapter.quote(schema) }}
                    to {{ adapter.quote(principal) }}
                {% endcall %}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {#- The expectation tables are the hooks', not a model's: silver's readers read them. -#}
    {%- for relation in expectation_relations().values() -%}
        {%- for principal in privileges.get(var('layers')['silver'], {}) -%}
            {% call statement('grant_expectations', auto_begin=False) %}
                grant select on table {{ relation }} to {{ adapter.quote(principal) }}
            {% endcall %}
        {%- endfor -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}
