{% test primary_key(model, columns) %}
    {#-
        A composite primary key in one pass: fails on every combination of the columns that occurs more than once
        or has a NULL in any of them. (One aggregation instead of a uniqueness test and a not_null test per key
        column: each data test is a Spark query with its own planning, BENCHMARKS.md.)
    -#}
    {%- set key = columns | join(', ') -%}
    select
        {{ key }},
        count(*) as occurrences
    from {{ model }}
    group by {{ key }}
    having count(*) > 1
        {%- for column in columns %}
        or {{ column }} is null
        {%- endfor %}
{% endtest %}
