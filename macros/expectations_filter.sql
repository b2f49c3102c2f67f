{% macro expectations_filter(cte) %}
    {#-
        The whole body of a model's checking CTE: the rows of `cte` that pass every `drop` expectation.
        Quarantine, metrics and `fail` are handled by the record_expectations pre-hook, which finds the marker
        comment below in the compiled SQL to evaluate the same rows before they are filtered.
        When a run or build writes the model as a table, the pre-hook has already computed those rows under a
        temporary name (expectation_candidates_sql): the model reads them from there, so it writes exactly the
        rows that were checked, even if its source gained rows in between (an ingestion committing meanwhile),
        and on Spark reads them from the cache instead of its source. A view (evaluated when read, not when
        built), `dbt compile` and `dbt show` filter `cte` itself.
    -#}
    {%- if not modules.re.match('^[a-z_][a-z0-9_]*$', cte) -%}
        {{ exceptions.raise_compiler_error("expectations_filter: '" ~ cte ~ "' is not a CTE name") }}
    {%- endif -%}
    {%- set rules = expectations() -%}
    {%- if rules and config.get('incremental_strategy') == 'microbatch' -%}
        {#- dbt runs a microbatch model's pre-hooks before its first batch only: no batch after it would be checked. -#}
        {{ exceptions.raise_compiler_error("model " ~ model.name ~ ": expectations do not support the microbatch strategy") }}
    {%- endif -%}
    {%- set dropping = rules | selectattr('action', 'equalto', 'drop') | list -%}
    /* expectations: {{ cte }} */
    select * from {{ expectation_candidates_view() if rules and writes_table_now() else cte }}
    {%- for rule in dropping %}
    {{ 'where' if loop.first else 'and' }} coalesce({{ rule.expect }}, false)
    {%- endfor %}
{% endmacro %}
