{% macro expectation_results_sql(results, rows) %}
    {{ return(adapter.dispatch('expectation_results_sql', 'lakehouse')(results, rows)) }}
{% endmacro %}

{% macro default__expectation_results_sql(results, rows) %}
    {#- A model's rows of expectation_results (`rows`: a VALUES list in the table's column order), appended now. -#}
    insert into {{ results }} values {{ rows }}
{%- endmacro %}

{% macro spark__expectation_results_sql(results, rows) %}
    {#-
        On Spark, a temporary view the on-run-end hook appends in one insert with every other model's
        (flush_expectation_results): one Delta commit per build instead of one per model with expectations, each
        of which cost about a second of a node's time. dbt's threads share one Spark session, so the hook sees
        every model's view. A build killed midway records none of its rows here (the quarantine is merged per
        model as before); the view's name carries the invocation, so a later build in the same session never
        records them as its own.
    -#}
    create or replace temporary view {{ expectation_results_view(this.identifier) }} as
    select * from values {{ rows }} as recorded (
        invocation_id, run_started_at, recorded_at, model_name, rule_name, expectation, action, rows_checked,
        rows_failed, outcome
    )
{%- endmacro %}

{% macro databricks__expectation_results_sql(results, rows) %}
    {#- Each connection of a SQL warehouse is a session of its own: no view would reach the hook. Appended now. -#}
    {{ return(default__expectation_results_sql(results, rows)) }}
{%- endmacro %}

{% macro expectation_results_view(model_identifier) %}
    {#- The temporary view of a model's expectation results in this invocation (given '': the names' suffix). -#}
    {{ return(model_identifier ~ '__expectation_results__' ~ invocation_id | replace('-', '')) }}
{%- endmacro %}
