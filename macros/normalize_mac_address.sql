{% macro normalize_mac_address(column) %}
    {#- One spelling for MAC addresses on both sides of a join: trimmed, lowercase, colon-separated. -#}
    lower(replace(trim({{ column }}), '-', ':'))
{%- endmacro %}
