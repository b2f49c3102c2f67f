{% test valid_intervals(model, key_columns, valid_from='valid_from', valid_to='valid_to') %}
    {#-
        Validity intervals [valid_from, valid_to) per key (valid_to NULL = current): fails on rows with no start,
        ending before they start, overlapping the key's next interval, or of a key with more than one current row.
    -#}
    {%- set keys = key_columns | join(', ') -%}
    with

    intervals as (

        select
            {{ keys }},
            {{ valid_from }} as interval_from,
            {{ valid_to }} as interval_to,
            lead({{ valid_from }}) over (
                partition by {{ keys }} order by {{ valid_from }}, {{ valid_to }} nulls last
            ) as next_interval_from,
            sum(case when {{ valid_to }} is null then 1 else 0 end) over (partition by {{ keys }}) as current_rows
        from {{ model }}

    )

    select *
    from intervals
    where
        interval_from is null
        or interval_to < interval_from
        or (next_interval_from is not null and (interval_to is null or next_interval_from < interval_to))
        or current_rows > 1
{% endtest %}
