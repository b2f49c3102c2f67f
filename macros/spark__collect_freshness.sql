{% macro spark__collect_freshness(source, loaded_at_field, filter) %}
    {#-
        `dbt source freshness` (run before every `lakehouse build`). A bronze table's newest `_ingested_at` is in
        its newest batch (a batch's rows share the time it started, and a source's batches start in the order of
        their ids), and Delta answers `max(_batch_id)` from its file statistics: the query reads that batch's
        files, not the column in every file (at reference scale 0.6 s against 2.2 s for the heart-rate readings).
        Any other loaded-at column, or a freshness filter, as dbt does it.
    -#}
    {%- if loaded_at_field != '_ingested_at' or filter -%}
        {{ return(default__collect_freshness(source, loaded_at_field, filter)) }}
    {%- endif -%}
    {% call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
        select
            max(_ingested_at) as max_loaded_at,
            {{ current_timestamp() }} as snapshotted_at
        from {{ source }}
        where _batch_id = (select max(_batch_id) from {{ source }})
    {%- endcall %}
    {{ return(load_result('collect_freshness')) }}
{% endmacro %}
