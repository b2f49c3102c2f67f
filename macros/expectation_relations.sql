{% macro expectation_relations() %}
    {#- The two tables the expectations write, in the silver layer of the current environment. -#}
    {%- set schema = generate_schema_name('silver', {'resource_type': 'model', 'name': 'expectations'}) | trim -%}
    {%- set results = api.Relation.create(
        database=target.database if target.database is defined else none, schema=schema, identifier='expectation_results', type='table'
    ) -%}
    {%- set quarantine = api.Relation.create(
        database=target.database if target.database is defined else none, schema=schema, identifier='expectation_quarantine', type='table'
    ) -%}
    {{ return({'results': results, 'quarantine': quarantine}) }}
{% endmacro %}
