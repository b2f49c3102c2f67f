{% macro pinned(relation) %}
    {#-
        `relation`, a Delta table another process writes (bronze, by ingestion), at the version it has now, when a
        run or build writes the current model as a table or incremental model: dbt compiles a model just before
        running it, so every statement the model then runs (its expectations' pre-hook, the merge window's bound,
        the model itself) reads the same rows, even if an ingestion commits meanwhile; the next build reads what
        was committed after (its batches are newer than the model's watermark). Elsewhere (views, which are
        read later; compile, show, docs; unit tests; `--empty`, whose sources are empty subqueries) the relation
        itself.
    -#}
    {%- if writes_table_now() and not flags.EMPTY -%}
        {%- set version = run_query('describe history ' ~ relation ~ ' limit 1').columns[0].values()[0] -%}
        {{ return(as_of(relation, version=version)) }}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}
