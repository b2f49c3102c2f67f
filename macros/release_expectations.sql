{% macro release_expectations() %}
    {#- Post-hook of every model: drop the rows record_expectations kept for the model (cached on Spark). -#}
    {%- if not execute or expectations() | length == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {% call statement('release_expectation_candidates') %}
        drop view if exists {{ expectation_candidates_view() }}
    {% endcall %}
    {{ return('') }}
{% endmacro %}
