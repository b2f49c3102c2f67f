{% macro writes_table_now() %}
    {#-
        True while a run or build is about to write the current model as a table or incremental model (dbt compiles
        a model just before running its materialization, pre-hook first); false for views (read later), compile,
        show, docs and unit tests.
    -#}
    {{ return(execute
        and model.resource_type == 'model'
        and flags.WHICH in ['run', 'build']
        and config.get('materialized') in ['table', 'incremental']) }}
{% endmacro %}
