{#-
    Rebuilt in full on every run (table): a completed session can appear late (its stop in a later batch) and a
    late reading can change any session's statistics, so a rebuild is the simplest way to equal a full refresh;
    it reads the deduplicated readings once, joined on the session's user and time window.
-#}

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

session_readings as (

    select
        completed_sessions.user_id,
        completed_sessions.workout_id,
        completed_sessions.session_id,
        completed_sessions.started_at,
        completed_sessions.ended_at,
        count(readings.heart_rate_bpm) as num_readings,
        min(readings.heart_rate_bpm) as min_bpm,
        max(readings.heart_rate_bpm) as max_bpm,
        avg(readings.heart_rate_bpm) as avg_bpm
    from completed_sessions
    left join readings
        on
            completed_sessions.user_id = readings.user_id
            and completed_sessions.started_at <= readings.measured_at
            and completed_sessions.ended_at >= readings.measured_at
    group by
        completed_sessions.user_id,
        completed_sessions.workout_id,
        completed_sessions.session_id,
        completed_sessions.started_at,
        completed_sessions.ended_at

),

with_profiles as (

    select
        session_readings.*,
        profiles.sex,
        profiles.city,
        profiles.state,
        profiles.birth_date
    from session_readings
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
        with_profiles.ended_at
    from with_profiles

)

select * from final
