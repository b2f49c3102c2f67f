{% macro incremental_window_start(relation, expression, where) %}
    {#-
        The smallest `expression` among the rows of `relation` matching `where` (e.g. the earliest event time in the
        new batches), as a timestamp literal: an incremental model compares its table with the new rows only from
        there on, so Delta skips the older files. `cast(null as timestamp)` when no row matches (nothing new:
        every comparison with it is false). A subquery where `this` is a unit test's fixture.
    -#}
    {%- set query = 'select min(' ~ expression ~ ') from ' ~ relation ~ ' where ' ~ where -%}
    {%- if execute and this.schema -%}
        {%- set value = run_query(query).columns[0].values()[0] -%}
        {{ return("cast(null as timestamp)" if value is none else "timestamp '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return('(' ~ query ~ ')') }}
{% endmacro %}
