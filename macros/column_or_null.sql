{% macro column_or_null(relation, column_name, data_type, qualifier) %}
    {#-
        `qualifier.column_name` cast to data_type when `relation` has that column, else a typed NULL: for columns
        that ingestion adds to a bronze table in a later batch (schema evolution), so the model compiles before
        and after the column appears and its own schema never changes.
    -#}
    {%- if not modules.re.match('^[a-z_][a-z0-9_]*$', column_name) -%}
        {{ exceptions.raise_compiler_error("column_or_null: '" ~ column_name ~ "' is not a column name") }}
    {%- endif -%}
    {#- A unit test passes its fixture CTE (no schema) as the relation: nothing to inspect there. -#}
    {%- set existing = adapter.get_columns_in_relation(relation) if execute and relation.schema else [] -%}
    {%- if column_name in existing | map(attribute='name') | map('lower') | list -%}
        cast({{ qualifier }}.{{ column_name }} as {{ data_type }})
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif -%}
{% endmacro %}
