{% test expression_is_true(model, expression, column_name=none) %}
    {#- Fails on every row for which `expression` is not true (false or NULL). -#}
    select *
    from {{ model }}
    where not coalesce({{ expression }}, false)
{% endtest %}
