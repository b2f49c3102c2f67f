{% macro column_or_null(relation, column_name, data_type, qualifier) %}
    {#-
        `qualifier.column_name` cast to data_type when `relation` has that column, else a typed NULL: for columns
        that ingestion adds to a bronze table in a later batch (schema evolution), so the model compiles before
        and after the column appears and its own schema never changes.
    -#}
    {%- if not modules.re.match('^[a-z_][a-z0-9_]*$', column_name) -%}
        {{ exceptions.raise_compiler_error("column_or_null: '" ~ column_name ~ "' is not a column name") }}
    {%- endif -%}
    {%- if not execute -%}
        {%- set names = [] -%}
    {%- elif relation is string -%}
        {#- A pinned relation (`<table> version as of <n>`): its columns at that version, which the model reads. -#}
        {%- set names = run_query('select * from ' ~ relation ~ ' limit 0').column_names -%}
    {%- elif relation.schema -%}
        {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') -%}
    {%- else -%}
        {#- A unit test passes its fixture CTE (no schema) as the relation: nothing to inspect there. -#}
        {%- set names = [] -%}
    {%- endif -%}
    {%- if column_name in names | map('lower') | list -%}
        cast({{ qualifier }}.{{ column_name }} as {{ data_type }})
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif -%}
{% endmacro %}
