{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'workout_id', 'session_id', 'action', 'occurred_at'],
        merge_window_column='occurred_at',
    )
}}

{#-
    Incremental like stg_heart_rate__readings: each build reads only the bronze rows of batches newer than any the
    table holds and merges them on the event's key, so the sessions model downstream reads a table instead of
    deduplicating every event since the start each time it needs them. The merge touches only the table's rows from
    the new events' earliest time on; like the readings, no row it writes can equal a stored one (_built_at).
-#}

{%- if is_incremental() -%}
    {%- set watermark = batch_watermark() -%}
{%- endif %}

with

source as (

    select * from {{ pinned(source('workouts', 'workouts')) }}
    {% if is_incremental() %}
        where _batch_id > {{ watermark }}
    {% endif %}

),

renamed as (

    select
        cast(source.user_id as bigint) as user_id,
        cast(source.workout_id as bigint) as workout_id,
        cast(source.session_id as bigint) as session_id,
        cast(source.timestamp as timestamp) as occurred_at,
        cast(source._source_file as string) as _source_file,
        cast(source._source_row as bigint) as _source_row,
        cast(source._batch_id as bigint) as _batch_id,
        cast(source._ingested_at as timestamp) as _ingested_at,
        lower(trim(cast(source.action as string))) as action,  -- noqa: RF04
        source._rescued_data is not null as has_rescued_data
    from source
    where source._corrupt_record is null

),

checked as (

    {{ expectations_filter('renamed') }}

),

ranked as (

    select
        checked.*,
        row_number() over (
            partition by checked.user_id, checked.workout_id, checked.session_id, checked.action, checked.occurred_at
            order by
                checked._ingested_at desc,
                checked._batch_id desc,
                checked._source_file desc,
                checked._source_row desc
        ) as version_rank
    from checked

),

final as (

    select
        ranked.user_id,
        ranked.workout_id,
        ranked.session_id,
        ranked.action,
        ranked.has_rescued_data,
        ranked.occurred_at,
        ranked._source_file,
        ranked._source_row,
        ranked._batch_id,
        ranked._ingested_at,
        {{ built_at() }} as _built_at
    from ranked
    where ranked.version_rank = 1

)

select * from final
