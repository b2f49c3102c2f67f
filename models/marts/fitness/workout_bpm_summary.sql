{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'workout_id', 'session_id'],
    )
}}

{#-
    Incremental: a build recomputes only the completed sessions that something new can change, and merges them:
      - sessions whose events arrived in newer batches (a new session, a late stop);
      - sessions holding a reading of a newer batch (a late or re-sent reading);
      - sessions of users with profile events in newer batches (a change, a deletion, late or not), from the
        earliest of those events' business time on: an event reshapes the user's profile history from its
        updated_at on, never before, so older sessions keep the version they had;
      - sessions of users whose devices' registrations changed (a device handed over moves readings between
        owners).
    Each kept row remembers the newest batch of each input it was computed from (the _*_batch_id columns);
    their maxima are the watermarks. The readings are read from the earliest start among the touched sessions
    on, so a build costs what its new data touches, not all history.
-#}

-- depends_on: {{ ref('stg_heart_rate__readings') }} (where the new readings' time window is looked up)
{%- if is_incremental() -%}
    {%- set marks = incremental_marks(
        ['_sessions_batch_id', '_readings_batch_id', '_profiles_batch_id', '_registrations_batch_id']
    ) -%}
    {%- set new_readings_from = incremental_window_start(
        ref('stg_heart_rate__readings'), 'measured_at', '_batch_id > ' ~ marks._readings_batch_id
    ) -%}
{%- endif %}

with

sessions as (

    select * from {{ ref('int_workout_sessions_paired') }}

),

readings as (

    select * from {{ ref('int_heart_rate_readings_attributed') }}

),

profiles as (

    select * from {{ ref('int_user_profiles_historized') }}

),

profile_events as (

    select * from {{ ref('stg_user_profile_cdc__profile_events') }}

),

registrations as (

    select * from {{ ref('int_device_registrations_historized') }}

),

completed_sessions as (

    select
        sessions.user_id,
        sessions.workout_id,
        sessions.session_id,
        sessions.started_at,
        sessions.ended_at,
        sessions._batch_id
    from sessions
    where sessions.is_completed

),

user_registration_marks as (

    select
        registrations.user_id,
        max(registrations._batch_id) as registrations_batch_id
    from registrations
    group by registrations.user_id

),

{% if is_incremental() %}
    new_readings as (

        select
            readings.user_id,
            readings.measured_at
        from readings
        where
            readings.measured_at >= {{ new_readings_from }}
            and readings._batch_id > {{ marks._readings_batch_id }}

    ),

    changed_devices as (

        select distinct registrations.device_id
        from registrations
        where registrations._batch_id > {{ marks._registrations_batch_id }}

    ),

    changed_profiles as (

        select
            profile_events.user_id,
            min(profile_events.updated_at) as changed_from
        from profile_events
        where profile_events._batch_id > {{ marks._profiles_batch_id }}
        group by profile_events.user_id

    ),

    changed_owners as (

        select registrations.user_id
        from registrations
        inner join changed_devices
            on registrations.device_id = changed_devices.device_id

    ),

    touched_sessions as (

        select completed_sessions.*
        from completed_sessions
        where completed_sessions._batch_id > {{ marks._sessions_batch_id }}

        union

        select completed_sessions.*
        from completed_sessions
        left semi join new_readings
            on
                completed_sessions.user_id = new_readings.user_id
                and completed_sessions.started_at <= new_readings.measured_at
                and completed_sessions.ended_at >= new_readings.measured_at

        union

        select completed_sessions.*
        from completed_sessions
        left semi join changed_profiles
            on
                completed_sessions.user_id = changed_profiles.user_id
                and completed_sessions.started_at >= changed_profiles.changed_from

        union

        select completed_sessions.*
        from completed_sessions
        left semi join changed_owners
            on completed_sessions.user_id = changed_owners.user_id

    ),

    session_readings_from as (

        select coalesce(min(touched_sessions.started_at), timestamp '9999-12-31 00:00:00') as started_at
        from touched_sessions

    ),

    touched_readings as (

        select readings.*
        from readings
        where readings.measured_at >= (select session_readings_from.started_at from session_readings_from)

    ),
{% else %}
    touched_sessions as (

        select * from completed_sessions

    ),

    touched_readings as (

        select * from readings

    ),
{% endif %}

session_readings as (

    select
        touched_sessions.user_id,
        touched_sessions.workout_id,
        touched_sessions.session_id,
        touched_sessions.started_at,
        touched_sessions.ended_at,
        touched_sessions._batch_id as sessions_batch_id,
        count(touched_readings.heart_rate_bpm) as num_readings,
        min(touched_readings.heart_rate_bpm) as min_bpm,
        max(touched_readings.heart_rate_bpm) as max_bpm,
        avg(touched_readings.heart_rate_bpm) as avg_bpm,
        coalesce(max(touched_readings._batch_id), -1) as readings_batch_id
    from touched_sessions
    left join touched_readings
        on
            touched_sessions.user_id = touched_readings.user_id
            and touched_sessions.started_at <= touched_readings.measured_at
            and touched_sessions.ended_at >= touched_readings.measured_at
    group by
        touched_sessions.user_id,
        touched_sessions.workout_id,
        touched_sessions.session_id,
        touched_sessions.started_at,
        touched_sessions.ended_at,
        touched_sessions._batch_id

),

session_profile_marks as (

    -- The newest batch among the profile events up to each session's start: the lineage of its demographics.
    select
        touched_sessions.user_id,
        touched_sessions.workout_id,
        touched_sessions.session_id,
        max(profile_events._batch_id) as profiles_batch_id
    from touched_sessions
    inner join profile_events
        on
            touched_sessions.user_id = profile_events.user_id
            and touched_sessions.started_at >= profile_events.updated_at
    group by
        touched_sessions.user_id,
        touched_sessions.workout_id,
        touched_sessions.session_id

),

with_profiles as (

    select
        session_readings.*,
        profiles.sex,
        profiles.city,
        profiles.state,
        profiles.birth_date,
        coalesce(session_profile_marks.profiles_batch_id, -1) as profiles_batch_id,
        coalesce(user_registration_marks.registrations_batch_id, -1) as registrations_batch_id
    from session_readings
    left join session_profile_marks
        on
            session_readings.user_id = session_profile_marks.user_id
            and session_readings.workout_id = session_profile_marks.workout_id
            and session_readings.session_id = session_profile_marks.session_id
    left join user_registration_marks
        on session_readings.user_id = user_registration_marks.user_id
    left join profiles
        on
            session_readings.user_id = profiles.user_id
            and session_readings.started_at >= profiles.valid_from
            and (profiles.valid_to is null or session_readings.started_at < profiles.valid_to)

),

final as (

    select
        with_profiles.user_id,
        with_profiles.workout_id,
        with_profiles.session_id,
        -- whole years: one less while the birthday (month, day) is still ahead in the year of started_at
        cast(
            year(with_profiles.started_at) - year(with_profiles.birth_date)
            - case
                when
                    month(with_profiles.started_at) * 100 + dayofmonth(with_profiles.started_at)
                    < month(with_profiles.birth_date) * 100 + dayofmonth(with_profiles.birth_date)
                    then 1
                else 0
            end
            as int
        ) as age_years,
        with_profiles.sex,
        with_profiles.city,
        with_profiles.state,
        cast(
            round({{ seconds_between('with_profiles.started_at', 'with_profiles.ended_at') }} / 60, 2)
            as decimal(12, 2)
        ) as duration_minutes,
        cast(with_profiles.num_readings as bigint) as num_readings,
        with_profiles.min_bpm,
        with_profiles.max_bpm,
        cast(round(with_profiles.avg_bpm, 2) as decimal(6, 2)) as avg_bpm,
        with_profiles.started_at,
        with_profiles.ended_at,
        with_profiles.sessions_batch_id as _sessions_batch_id,
        with_profiles.readings_batch_id as _readings_batch_id,
        with_profiles.profiles_batch_id as _profiles_batch_id,
        with_profiles.registrations_batch_id as _registrations_batch_id
    from with_profiles

)

{% if is_incremental() %}
    {{ exclude_unchanged('final') }}
{% else %}
    select * from final
{% endif %}
