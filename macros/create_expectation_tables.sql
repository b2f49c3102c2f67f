{% macro create_expectation_tables() %}
    {#-
        on-run-start: the two tables expectations write (expectation_results, expectation_quarantine), created
        once before any model runs. Creating them from the models' own pre-hooks raced when models run in
        parallel threads (two first CREATE TABLEs of one Delta location conflict). Not for `dbt source freshness`
        (run before every `lakehouse build`): it runs no model.
    -#}
    {%- if not execute or flags.WHICH == 'freshness' -%}{{ return('') }}{%- endif -%}
    {%- set relations = expectation_relations() -%}
    {%- do adapter.create_schema(relations.results) -%}
    {% call statement('expectation_results_table', auto_begin=False) %}
        create table if not exists {{ relations.results }} (
            invocation_id string,
            run_started_at timestamp,
            recorded_at timestamp,
            model_name string,
            rule_name string,
            expectation string,
            action string,
            rows_checked bigint,
            rows_failed bigint,
            outcome string
        ) using delta
    {% endcall %}
    {% call statement('expectation_quarantine_table', auto_begin=False) %}
        create table if not exists {{ relations.quarantine }} (
            model_name string,
            rule_name string,
            expectation string,
            record_hash string,
            record string,
            invocation_id string,
            quarantined_at timestamp
        ) using delta
        partitioned by (model_name)
    {% endcall %}
    {{ return('') }}
{% endmacro %}
