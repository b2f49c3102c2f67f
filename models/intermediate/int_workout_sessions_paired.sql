{{ config(materialized='table') }}

{#-
    A session starts at its earliest `start` and ends at its earliest `stop` at or after that start; a session
    without such a stop is not completed (yet: its stop may arrive in a later batch, and this table is rebuilt
    from every event on each run). Stops before the start are ignored for pairing but reported (first_stop_at).
-#}

with

events as (

    select * from {{ ref('stg_workouts__workout_events') }}

),

sessions as (

    select
        events.user_id,
        events.workout_id,
        events.session_id,
        min(case when events.action = 'start' then events.occurred_at end) as started_at,
        min(case when events.action = 'stop' then events.occurred_at end) as first_stop_at
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
        sessions.first_stop_at

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
        checked.first_stop_at
    from checked

)

select * from final
