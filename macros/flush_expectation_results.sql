{% macro flush_expectation_results() %}
    {{ return(adapter.dispatch('flush_expectation_results', 'lakehouse')()) }}
{% endmacro %}

{% macro default__flush_expectation_results() %}
    {{ return('') }}
{% endmacro %}

{% macro spark__flush_expectation_results() %}
    {#-
        on-run-end: append the expectation_results rows the build's models left in temporary views
        (spark__expectation_results_sql), also those of models that then failed, in one insert; then drop the views.
    -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set views = [] -%}
    {%- for row in run_query("show views like '*__expectation_results'").rows if row['isTemporary'] -%}
        {%- do views.append(row['viewName']) -%}
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
        {%- for view in views -%}
            {%- do run_query('drop view if exists ' ~ view) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{% macro databricks__flush_expectation_results() %}
    {{ return('') }}
{% endmacro %}
