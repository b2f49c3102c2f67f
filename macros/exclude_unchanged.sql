{% macro exclude_unchanged(cte) %}
    {#-
        For an incremental model's last CTE: only the rows that are new or differ from a row already in the
        table. Rows arriving again unchanged (an exact re-send) would otherwise be merged for nothing, and a build
        with nothing new would still rewrite Delta files. EXCEPT compares every column by position, null-safely,
        so the CTE lists the table's columns in the table's order (a new column needs --full-refresh). Pointless
        where rows carry the build's `_built_at`: none of them can equal a stored row.
    -#}
    select * from {{ cte }}
    except
    select * from {{ this }}
{% endmacro %}
