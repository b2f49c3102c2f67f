{% macro exclude_unchanged(cte) %}
    {{ return(adapter.dispatch('exclude_unchanged', 'lakehouse')(cte)) }}
{% endmacro %}

{% macro default__exclude_unchanged(cte) %}
    {#-
        For an incremental model's last CTE: only the rows that are new or differ from a row already in the
        table. A lookback re-reads rows the table already has; merging them unchanged would rewrite Delta files
        for nothing, so a build with no new data would still commit a new version of every incremental table.
        EXCEPT compares every column by position, null-safely, so the CTE must list the table's columns in the
        table's order (true while the model's columns do not change; a new column needs --full-refresh).
    -#}
    select * from {{ cte }}
    except
    select * from {{ this }}
{% endmacro %}
