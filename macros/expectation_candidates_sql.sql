{% macro expectation_candidates_sql(name) %}
    {{ return(adapter.dispatch('expectation_candidates_sql', 'lakehouse')(name)) }}
{% endmacro %}

{% macro default__expectation_candidates_sql(name) %}
    {#- The head of the statement naming the rows a model's expectations check: a temporary view. -#}
    create or replace temporary view {{ name }} as
{%- endmacro %}

{% macro spark__expectation_candidates_sql(name) %}
    {#-
        On Spark, a cached one: the counts and the quarantine merge then compute the candidate rows once.
        The model's own statement does not reuse it (measured 2026-12-07: its plan, whose CTEs Spark has not
        inlined when it looks for cached data, never matches), so it reads its source again.
        release_expectations uncaches it after the model.
    -#}
    cache table {{ name }} options ('storageLevel' 'MEMORY_AND_DISK') as
{%- endmacro %}

{% macro databricks__expectation_candidates_sql(name) %}
    {#- SQL warehouses have no CACHE TABLE: a temporary view, as by default. -#}
    {{ return(default__expectation_candidates_sql(name)) }}
{%- endmacro %}
