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
    {%- set subquery = '(select coalesce(max(' ~ batch_column ~ '), -1) from ' ~ this ~ ')' -%}
    {%- if execute and this.schema -%}
        {{ return(run_query('select ' ~ subquery).columns[0].values()[0] | int) }}
    {%- endif -%}
    {{ return(subquery) }}
{% endmacro %}
