{% test not_null_columns(model, columns) %}
    {#-
        Several columns of a model without NULLs, in one query: fails on every row with a NULL in any of them.
        (One scan instead of a not_null test per column: each data test is a Spark query with its own planning,
        BENCHMARKS.md.)
    -#}
    select *
    from {{ model }}
    where
        {%- for column in columns %}
        {{ 'or ' if not loop.first }}{{ column }} is null
        {%- endfor %}
{% endtest %}
