{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'workout_id', 'session_id'],
    )
}}

{#-
    A session starts at its earliest `start` and ends at its earliest `stop` at or after that start; a session
    without such a stop is not completed (yet: its stop may arrive in a later batch). Stops before the start are
    ignored for pairing but reported (first_stop_at). Incremental: a build recomputes, from all their events,
    only the sessions with events in ingestion batches newer than the table's (batch_watermark), and merges them.
-#}

with

all_events as (

    select * from {{ ref('stg_workouts__workout_events') }}

),

touched_sessions as (

    select distinct
        all_events.user_id,
        all_events.workout_id,
        all_events.session_id
    from all_events
    {% if is_incremental() %}
        where all_events._batch_id > {{ batch_watermark() }}
    {% endif %}

),

events as (

    select all_events.*
    from all_events
    inner join touched_sessions
        on
            all_events.user_id = touched_sessions.user_id
            and all_events.workout_id = touched_sessions.workout_id
            and all_events.session_id = touched_sessions.session_id

),

sessions as (

    select
        events.user_id,
        events.workout_id,
        events.session_id,
        min(case when events.action = 'start' then events.occurred_at end) as started_at,
        min(case when events.action = 'stop' then events.occurred_at end) as first_stop_at,
        max(events._batch_id) as _batch_id
    from events
    group by events.user_id, events.workout_id, events.session_id

),

stops as (

    select
        events.user_id,
        events.workout_id,
        events.session_id,
        events.occurred_at
    from events
    where events.action = 'stop'

),

paired as (

    select
        sessions.user_id,
        sessions.workout_id,
        sessions.session_id,
        sessions.started_at,
        sessions.first_stop_at,
        sessions._batch_id,
        min(stops.occurred_at) as ended_at,
        min(stops.occurred_at) is not null as is_completed
    from sessions
    left join stops
        on
            sessions.user_id = stops.user_id
            and sessions.workout_id = stops.workout_id
            and sessions.session_id = stops.session_id
            and sessions.started_at <= stops.occurred_at
    group by
        sessions.user_id,
        sessions.workout_id,
        sessions.session_id,
        sessions.started_at,
        sessions.first_stop_at,
        sessions._batch_id

),

checked as (

    {{ expectations_filter('paired') }}

),

final as (

    select
        checked.user_id,
        checked.workout_id,
        checked.session_id,
        checked.is_completed,
        checked.started_at,
        checked.ended_at,
        checked.first_stop_at,
        checked._batch_id
    from checked

)

{% if is_incremental() %}
    {{ exclude_unchanged('final') }}
{% else %}
    select * from final
{% endif %}
