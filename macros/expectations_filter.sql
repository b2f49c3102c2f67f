{% macro expectations_filter(cte) %}
    {#-
        The whole body of a model's checking CTE: the rows of `cte` that pass every `drop` expectation.
        Quarantine, metrics and `fail` are handled by the record_expectations pre-hook, which finds the marker
        comment below in the compiled SQL to evaluate the same rows before they are filtered.
    -#}
    {%- if not modules.re.match('^[a-z_][a-z0-9_]*$', cte) -%}
        {{ exceptions.raise_compiler_error("expectations_filter: '" ~ cte ~ "' is not a CTE name") }}
    {%- endif -%}
    {%- set dropping = expectations() | selectattr('action', 'equalto', 'drop') | list -%}
    /* expectations: {{ cte }} */
    select * from {{ cte }}
    {%- for rule in dropping %}
    {{ 'where' if loop.first else 'and' }} coalesce({{ rule.expect }}, false)
    {%- endfor %}
{% endmacro %}
