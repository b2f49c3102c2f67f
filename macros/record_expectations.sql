{% macro record_expectations() %}
    {#-
        Pre-hook of every model (dbt_project.yml); a no-op for a model that declares no expectations.
        It runs before the model's own statement, so it sees exactly the rows the model is about to check (the same
        compiled SQL, the same is_incremental() slice), and:
          1. records rows checked and rows failing per rule in expectation_results (invocation_id, timestamps): at
             once, or on Spark at the end of the build (expectation_results_sql, flush_expectation_results);
          2. merges the rows failing `drop` rules into expectation_quarantine in one statement, keyed by (model,
             rule, row hash), so checking the same rows again (rebuilds, full refreshes) never duplicates them;
          3. raises if a `fail` rule has failing rows: the model is then not built and its children are skipped.
        The model itself drops the rows (expectations_filter); `warn` rows are only counted.
    -#}
    {%- set rules = expectations() -%}
    {%- if not execute or rules | length == 0 -%}
        {{ return('') }}
    {%- endif -%}

    {#- The rows the model checks: its compiled SQL cut at the expectations_filter marker. -#}
    {%- set compiled = model.compiled_code -%}
    {%- set marker = modules.re.search('/\\* expectations: ([a-z_][a-z0-9_]*) \\*/', compiled) -%}
    {%- if marker is none or not compiled[:marker.start()].rstrip().endswith('(') -%}
        {{ exceptions.raise_compiler_error(
            "model " ~ model.name ~ " declares expectations, so one of its CTEs must have"
            ~ " {{ expectations_filter('<cte>') }} as its whole body"
        ) }}
    {%- endif -%}
    {%- set checked_cte = marker.group(1) -%}
    {%- set candidates = expectation_candidates_view() -%}
    {%- set relations = expectation_relations() -%}
    {%- set run_started = dbt.string_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')) -%}

    {% call statement('expectation_candidates_dropped') %}
        drop view if exists {{ candidates }}
    {% endcall %}
    {% call statement('expectation_candidates') %}
        {{ expectation_candidates_sql(candidates) }}
        {{ compiled[:marker.start()] }}
            select * from {{ checked_cte }}
        )
        select * from {{ checked_cte }}
    {% endcall %}

    {% set count_sql %}
        select
            count(*) as rows_checked
            {%- for rule in rules %},
            coalesce(sum(case when coalesce({{ rule.expect }}, false) then 0 else 1 end), 0) as rule_{{ loop.index }}
            {%- endfor %}
        from {{ candidates }}
    {% endset %}
    {%- set counts = run_query(count_sql).rows[0] -%}
    {%- set rows_checked = counts[0] -%}
    {%- set checked = [] -%}
    {%- for rule in rules -%}
        {%- set failed = counts[loop.index] -%}
        {%- set outcome = 'passed' if failed == 0 else {'warn': 'warned', 'drop': 'dropped', 'fail': 'failed'}[rule.action] -%}
        {%- do checked.append({'rule': rule, 'failed': failed, 'outcome': outcome}) -%}
    {%- endfor -%}

    {#- recorded_at as a literal: on Spark the row is written at the end of the build (expectation_results_sql). -#}
    {%- set recorded = dbt.string_literal(modules.datetime.datetime.now(modules.pytz.utc).strftime('%Y-%m-%d %H:%M:%S.%f')) -%}
    {% set results_rows %}
        {%- for check in checked %}
            (
                {{ dbt.string_literal(invocation_id) }},
                cast({{ run_started }} as timestamp),
                cast({{ recorded }} as timestamp),
                {{ dbt.string_literal(model.name) }},
                {{ dbt.string_literal(check.rule.name) }},
                {{ dbt.string_literal(dbt.escape_single_quotes(check.rule.expect | string)) }},
                {{ dbt.string_literal(check.rule.action) }},
                cast({{ rows_checked }} as bigint),
                cast({{ check.failed }} as bigint),
                {{ dbt.string_literal(check.outcome) }}
            ){{ ',' if not loop.last }}
        {%- endfor %}
    {% endset %}
    {% call statement('expectation_results') %}
        {{ expectation_results_sql(relations.results, results_rows) }}
    {% endcall %}

    {#- One merge for every `drop` rule with failing rows: each failing row once per rule it fails. -#}
    {%- set dropped = checked | selectattr('outcome', 'equalto', 'dropped') | list -%}
    {%- if dropped %}
        {% call statement('expectation_quarantine') %}
            merge into {{ relations.quarantine }} as quarantine
            using (
                select distinct
                    {{ dbt.string_literal(model.name) }} as model_name,
                    failing.rule_name,
                    case failing.rule_name
                        {%- for check in dropped %}
                        when {{ dbt.string_literal(check.rule.name) }}
                            then {{ dbt.string_literal(dbt.escape_single_quotes(check.rule.expect | string)) }}
                        {%- endfor %}
                    end as expectation,
                    sha2(failing.record, 256) as record_hash,
                    failing.record,
                    {{ dbt.string_literal(invocation_id) }} as invocation_id,
                    cast({{ run_started }} as timestamp) as quarantined_at
                from (
                    select
                        to_json(struct(*)) as record,
                        explode(filter(array(
                            {%- for check in dropped %}
                            case when not coalesce({{ check.rule.expect }}, false)
                                then {{ dbt.string_literal(check.rule.name) }} end{{ ',' if not loop.last }}
                            {%- endfor %}
                        ), rule -> rule is not null)) as rule_name
                    from {{ candidates }}
                    where not (
                        {%- for check in dropped %}
                        coalesce({{ check.rule.expect }}, false){{ ' and' if not loop.last }}
                        {%- endfor %}
                    )
                ) as failing
            ) as failed
                {#- The model_name literal keeps concurrent merges of different models apart (partition pruning). #}
                on quarantine.model_name = {{ dbt.string_literal(model.name) }}
                and quarantine.model_name = failed.model_name
                and quarantine.rule_name = failed.rule_name
                and quarantine.record_hash = failed.record_hash
            when not matched then insert *
        {% endcall %}
    {%- endif %}

    {%- set failures = [] -%}
    {%- for check in checked if check.outcome == 'failed' -%}
        {%- do failures.append(check.rule.name ~ ' (' ~ check.failed ~ ' of ' ~ rows_checked ~ ' rows)') -%}
    {%- endfor -%}
    {%- if failures -%}
        {{ exceptions.raise_compiler_error(
            "model " ~ model.name ~ ": expectation with action fail not met: " ~ failures | join(', ')
            ~ "; see " ~ relations.results
        ) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
