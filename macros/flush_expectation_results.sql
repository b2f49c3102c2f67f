{% macro flush_expectation_results() %}
    {{ return(adapter.dispatch('flush_expectation_results', 'lakehouse')()) }}
{% endmacro %}

{% macro default__flush_expectation_results() %}
    {{ return('') }}
{% endmacro %}

{% macro spark__flush_expectation_results() %}
    {#-
        on-run-end: append the expectation_results rows this build's models left in temporary views
        (spark__expectation_results_sql), also those of models that then failed, in one insert; then drop the views,
        and those an interrupted earlier build left in the same session (never recorded: it did not finish).
    -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set views, stale = [], [] -%}
    {%- set ours = expectation_results_view('') -%}
    {%- for row in run_query("show views like '*__expectation_results__*'").rows if row['isTemporary'] -%}
        {#- Views of an invocation that never got here (interrupted, in a session that lives on) are dropped. -#}
        {%- do (views if row['viewName'].endswith(ours) else stale).append(row['viewName']) -%}
    {%- endfor -%}
    {%- if views -%}
        {% call statement('flush_expectation_results', auto_begin=False) %}
            insert into {{ expectation_relations().results }}
            select /*+ COALESCE(1) */ * from (  {#- one file, not one per view -#}
                {% for view in views -%}
                select * from {{ view }}{{ ' union all' if not loop.last }}
                {% endfor %}
            )
        {% endcall %}
    {%- endif -%}
    {%- for view in views + stale -%}
        {%- do run_query('drop view if exists ' ~ view) -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}

{% macro databricks__flush_expectation_results() %}
    {{ return('') }}
{% endmacro %}
