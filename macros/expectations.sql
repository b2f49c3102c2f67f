{% macro expectations() %}
    {#-
        The expectations the current model declares under `config.meta.expectations`, validated.
        A rule is {name, expect, action}: `expect` is a boolean SQL expression over one row's columns.
    -#}
    {#- A unit test renders the model under a node of its own, without the model's meta: no rules apply there. -#}
    {%- set meta = config.get('meta') or {} -%}
    {%- set rules = meta.get('expectations') or [] -%}
    {%- set names = [] -%}
    {%- for rule in rules -%}
        {%- if rule is not mapping
            or not modules.re.match('^[a-z][a-z0-9_]*$', rule.get('name') | string)
            or rule.get('action') not in ['warn', 'drop', 'fail']
            or not (rule.get('expect') | string | trim) -%}
            {{ exceptions.raise_compiler_error(
                "model " ~ model.name ~ ": expectation " ~ rule ~ " needs a lowercase identifier `name`,"
                ~ " a SQL boolean `expect` and an `action` among warn, drop, fail"
            ) }}
        {%- endif -%}
        {%- if rule.name in names -%}
            {{ exceptions.raise_compiler_error("model " ~ model.name ~ ": expectation " ~ rule.name ~ " is declared twice") }}
        {%- endif -%}
        {%- do names.append(rule.name) -%}
    {%- endfor -%}
    {{ return(rules) }}
{% endmacro %}
