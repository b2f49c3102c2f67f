{% macro batch_watermark(batch_column='_batch_id') %}
    {#-
        The newest ingestion batch an incremental model holds (-1 when it holds none): its next build reads only
        the bronze rows of later batches. Batch ids increase per source in commit order however late the data in
        them is, so no row is skipped and none is read twice, without a lookback. Rendered as a literal, so Delta
        skips the files of older batches by their _batch_id statistics; as a subquery where `this` is a unit
        test's fixture (nothing to query there).
    -#}
    {%- if not modules.re.match('^[a-z_][a-z0-9_]*$', batch_column) -%}
        {{ exceptions.raise_compiler_error("batch_watermark: '" ~ batch_column ~ "' is not a column name") }}
    {%- endif -%}
    {%- if execute and this.schema -%}
        {#- A bare max: Delta answers it from its file statistics, without reading the table (not through coalesce). -#}
        {%- set newest = run_query('select max(' ~ batch_column ~ ') from ' ~ this).columns[0].values()[0] -%}
        {{ return(-1 if newest is none else newest | int) }}
    {%- endif -%}
    {{ return('(select coalesce(max(' ~ batch_column ~ '), -1) from ' ~ this ~ ')') }}
{% endmacro %}
