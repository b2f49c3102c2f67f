{% macro exclude_unchanged(cte, this_where='true') %}
    {#-
        For an incremental model's last CTE: only the rows that are new or differ from a row already in the
        table. Rows arriving again unchanged (an exact re-send) would otherwise be merged for nothing, and a build
        with nothing new would still rewrite Delta files. EXCEPT compares every column by position, null-safely,
        so the CTE lists the table's columns in the table's order (a new column needs --full-refresh).
        `this_where` bounds the side read from the table (e.g. the new rows' time window), so the comparison
        costs what the new rows cost, not what the table holds.
    -#}
    select * from {{ cte }}
    except
    select * from {{ this }}
    where {{ this_where }}
{% endmacro %}
