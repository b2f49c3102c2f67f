{% macro spark__list_relations_without_caching(relation) %}
    {#-
        dbt-spark's listing of a schema (`show table extended`); for `docs generate`, with every relation's columns
        taken from the relation itself.

        dbt-spark's catalog runs no query of its own: it parses each relation's columns out of the `Schema:` section
        of this listing's `information`, which Spark fills from the metastore. A Delta table keeps its schema in its
        transaction log, and the metastore holds none (bronze tables, seeds, snapshots, incremental models, any
        table created once) or the copy Delta left when the table was last replaced, stale after a schema change.
        So for `docs generate` the section is rebuilt from `describe extended` (adapter.get_columns_in_relation: the
        Delta log for a Delta table, the stored schema for a view), with SQL type names throughout (bigint,
        struct<...>) as the databricks target reports them. Other commands read only whether a relation is a view
        or a table, and keep the plain listing and its cost.

        Returns rows of (namespace, tableName, isTemporary, information), as dbt-spark's adapter reads them.
    -#}
    {%- call statement('list_relations_without_caching', fetch_result=True) -%}
        show table extended in {{ adapter.quote(relation.schema) }} like '*'
    {%- endcall -%}
    {%- set listing = load_result('list_relations_without_caching').table -%}
    {%- if flags.WHICH != 'generate' -%}
        {{ return(listing) }}
    {%- endif -%}

    {%- set rows = [] -%}
    {%- for schema_name, table_name, is_temporary, information in listing -%}
        {%- if is_temporary -%}
            {#- The session's temporary views (dbt's __dbt_tmp): never documented; Spark knows their schema. -#}
            {%- do rows.append([schema_name, table_name, is_temporary, information]) -%}
            {%- continue -%}
        {%- endif -%}
        {%- set kept = namespace(lines=[], in_schema=false) -%}
        {%- for line in information.rstrip('\n').split('\n') -%}
            {#- Spark's section: `Schema: root`, then one ` |-- name: type (nullable = ...)` line per field. -#}
            {%- set kept.in_schema = line == 'Schema: root' or (kept.in_schema and line.startswith(' |')) -%}
            {%- if not kept.in_schema -%}
                {%- do kept.lines.append(line) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do kept.lines.append('Schema: root') -%}
        {%- set described = api.Relation.create(schema=schema_name, identifier=table_name) -%}
        {%- for column in adapter.get_columns_in_relation(described.quote(schema=true, identifier=true)) -%}
            {#- The line format dbt-spark parses. It reads the name and the type; nullability is not used. -#}
            {%- do kept.lines.append(' |-- ' ~ column.name ~ ': ' ~ column.dtype ~ ' (nullable = true)') -%}
        {%- endfor -%}
        {%- do rows.append([schema_name, table_name, is_temporary, kept.lines | join('\n') ~ '\n']) -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}
