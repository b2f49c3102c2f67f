{% macro incremental_marks(columns) %}
    {#-
        For an incremental model fed by several incremental inputs: the newest ingestion batch of each input the
        table has taken in, from lineage columns the model keeps per row (`columns`, e.g. _readings_batch_id),
        as a mapping column -> literal (-1 when empty), in one query. In a unit test, where `this` is a fixture,
        each is a scalar subquery.
    -#}
    {%- for column in columns if not modules.re.match('^[a-z_][a-z0-9_]*$', column) -%}
        {{ exceptions.raise_compiler_error("incremental_marks: '" ~ column ~ "' is not a column name") }}
    {%- endfor -%}
    {%- set marks = {} -%}
    {%- if execute and this.schema -%}
        {#- A table an older version of the model built lacks them: say so in one line, not with Spark's error. -#}
        {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- set missing = columns | reject('in', existing) | list -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                this ~ " lacks " ~ missing | join(', ') ~ " (built by an older version of " ~ model.name
                ~ "): rebuild it with `lakehouse build --full-refresh --select " ~ model.name ~ "`"
            ) }}
        {%- endif -%}
        {#- Bare maxima: Delta answers them from its file statistics, without reading the table. -#}
        {%- set query -%}
            select {% for column in columns %}max({{ column }}){{ ', ' if not loop.last }}{% endfor %}
            from {{ this }}
        {%- endset -%}
        {%- set row = run_query(query).rows[0] -%}
        {%- for column in columns -%}
            {%- do marks.update({column: -1 if row[loop.index0] is none else row[loop.index0] | int}) -%}
        {%- endfor -%}
    {%- else -%}
        {%- for column in columns -%}
            {%- do marks.update({column: '(select coalesce(max(' ~ column ~ '), -1) from ' ~ this ~ ')'}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(marks) }}
{% endmacro %}
