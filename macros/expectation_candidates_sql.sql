{% macro expectation_candidates_sql(name) %}
    {{ return(adapter.dispatch('expectation_candidates_sql', 'lakehouse')(name)) }}
{% endmacro %}

{% macro default__expectation_candidates_sql(name) %}
    {#- The head of the statement naming the rows a model's expectations check: a temporary view. -#}
    create or replace temporary view {{ name }} as
{%- endmacro %}

{% macro spark__expectation_candidates_sql(name) %}
    {#-
        On Spark, a cached one: the counts, the quarantine merge and the model's own statement (which reads it by
        name: expectations_filter) then compute the candidate rows once, from one version of the source.
        release_expectations uncaches it after the model.
    -#}
    cache table {{ name }} options ('storageLevel' 'MEMORY_AND_DISK') as
{%- endmacro %}

{% macro databricks__expectation_candidates_sql(name) %}
    {#- SQL warehouses have no CACHE TABLE: a temporary view, as by default. -#}
    {{ return(default__expectation_candidates_sql(name)) }}
{%- endmacro %}

{% macro expectation_candidates_view() %}
    {#- The temporary name of the rows the current model's expectations check, from its pre-hook to its post-hook. -#}
    {{ return(this.identifier ~ '__expectation_candidates') }}
{%- endmacro %}
