{% macro merge_window_predicates(source, incremental_predicates) %}
    {#-
        incremental_predicates plus, for a model configured with `merge_window_column`, one that bounds the target
        of the merge to the time window of the rows being merged: `DBT_INTERNAL_DEST.<column> >= <their earliest>`.
        Exact, since a target row can only match a source row with the same key, which includes that column; and
        Delta then skips every file of the table older than the new rows instead of scanning them all.
    -#}
    {%- set predicates = [] + (incremental_predicates or []) -%}
    {%- set column = config.get('merge_window_column') -%}
    {%- if column -%}
        {%- if not modules.re.match('^[a-z_][a-z0-9_]*$', column) -%}
            {{ exceptions.raise_compiler_error("merge_window_column: '" ~ column ~ "' is not a column name") }}
        {%- endif -%}
        {%- set earliest = run_query('select min(' ~ column ~ ') from ' ~ source).columns[0].values()[0] -%}
        {%- if earliest is not none -%}
            {%- do predicates.append('DBT_INTERNAL_DEST.' ~ column ~ " >= timestamp '" ~ earliest ~ "'") -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(predicates) }}
{% endmacro %}
