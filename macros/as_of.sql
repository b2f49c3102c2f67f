{% macro as_of(relation, version=none, timestamp=none) %}
    {#-
        `relation` as it was at a Delta version or at a timestamp (time travel), for the from clause of a query.
        Both values are checked here, before they reach SQL: a version is a non-negative integer (or a string of
        digits, as vars given on the command line may be); a timestamp is a date or a date and time.
    -#}
    {%- if (version is none) == (timestamp is none) -%}
        {{ exceptions.raise_compiler_error("as_of(" ~ relation ~ "): give exactly one of version or timestamp") }}
    {%- endif -%}
    {%- if version is not none and not modules.re.fullmatch('[0-9]+', version | string) -%}
        {{ exceptions.raise_compiler_error(
            "as_of(" ~ relation ~ "): version " ~ version ~ " is not a non-negative integer"
        ) }}
    {%- endif -%}
    {%- set date = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])' -%}
    {%- set time = '([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?' -%}
    {%- if timestamp is not none and not modules.re.fullmatch(date ~ '([ T]' ~ time ~ ')?', timestamp | string) -%}
        {{ exceptions.raise_compiler_error(
            "as_of(" ~ relation ~ "): timestamp '" ~ timestamp ~ "' is not 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS[.ffffff]'"
        ) }}
    {%- endif -%}
    {{ return(adapter.dispatch('as_of')(relation, version, timestamp)) }}
{% endmacro %}

{% macro default__as_of(relation, version, timestamp) %}
    {{ exceptions.raise_compiler_error("as_of: time travel is implemented for Delta tables on Spark and Databricks only") }}
{% endmacro %}

{% macro spark__as_of(relation, version, timestamp) %}
    {%- if version is not none -%}
        {{ relation }} version as of {{ version | int }}
    {%- else -%}
        {{ relation }} timestamp as of {{ dbt.string_literal(timestamp) }}
    {%- endif -%}
{% endmacro %}
