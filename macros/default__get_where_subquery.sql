{% macro default__get_where_subquery(relation) -%}
    {#-
        dbt's `where` for data tests, plus one value of our own: `where: rows_built_this_run` checks only the rows
        the current `dbt build` wrote (their `_built_at` is the build's start), so a test of a large incremental
        model costs what the build's new data costs. Sound for tests a merge keeps true for the untouched rows
        (keys, not nulls, row-level expressions). Any other command (`dbt test`, a scheduled sweep) checks the
        whole table.
    -#}
    {%- set where = config.get('where', '') -%}
    {%- if where == 'rows_built_this_run' -%}
        {%- set where = '_built_at = ' ~ built_at() if flags.WHICH == 'build' else '' -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
