{#-
    Rebuilt in full on every run (table): small (one row per member, gym and day), and a late workout stop can
    change minutes_exercising of an earlier visit.
-#}

with

visits as (

    select * from {{ ref('int_gym_visits_attributed') }}

),

sessions as (

    select * from {{ ref('int_workout_sessions_paired') }}

),

gyms as (

    select * from {{ ref('gyms') }}

),

completed_sessions as (

    select
        sessions.user_id,
        sessions.workout_id,
        sessions.session_id,
        sessions.started_at,
        sessions.ended_at
    from sessions
    where sessions.is_completed

),

session_overlaps as (

    select
        visits.gym_id,
        visits.mac_address,
        visits.login_at,
        {{ seconds_between(
            'greatest(visits.login_at, completed_sessions.started_at)',
            'least(visits.logout_at, completed_sessions.ended_at)'
        ) }} as overlap_seconds
    from visits
    inner join completed_sessions
        on
            visits.user_id = completed_sessions.user_id
            and visits.logout_at > completed_sessions.started_at
            and visits.login_at < completed_sessions.ended_at

),

visit_exercise as (

    select
        visits.gym_id,
        visits.mac_address,
        visits.user_id,
        visits.login_at,
        visits.logout_at,
        coalesce(sum(session_overlaps.overlap_seconds), 0) as exercising_seconds
    from visits
    left join session_overlaps
        on
            visits.gym_id = session_overlaps.gym_id
            and visits.mac_address = session_overlaps.mac_address
            and visits.login_at = session_overlaps.login_at
    group by
        visits.gym_id,
        visits.mac_address,
        visits.user_id,
        visits.login_at,
        visits.logout_at

),

local_visits as (

    select
        visit_exercise.*,
        {{ local_date('visit_exercise.login_at', 'gyms.timezone') }} as visit_date
    from visit_exercise
    inner join gyms
        on visit_exercise.gym_id = gyms.gym_id

),

final as (

    select
        local_visits.gym_id,
        local_visits.user_id,
        local_visits.visit_date,
        count(*) as num_visits,
        cast(
            round(sum({{ seconds_between('local_visits.login_at', 'local_visits.logout_at') }}) / 60, 2)
            as decimal(12, 2)
        ) as minutes_in_gym,
        cast(round(sum(local_visits.exercising_seconds) / 60, 2) as decimal(12, 2)) as minutes_exercising
    from local_visits
    group by
        local_visits.gym_id,
        local_visits.user_id,
        local_visits.visit_date

)

select * from final
