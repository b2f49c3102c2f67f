{#-
    A reading belongs to the user whose registration of its device was valid at the reading's time
    (int_device_registrations_historized, half-open [valid_from, valid_to)). Should two registrations claim the
    device at that time (an old owner's deletion observed after the new owner's registration took effect), the
    most recent registration wins. Readings of a device nobody had registered at the time are left out.
-#}

with

readings as (

    select * from {{ ref('stg_heart_rate__readings') }}

),

registrations as (

    select * from {{ ref('int_device_registrations_historized') }}

),

owners as (

    {#-
        An aggregate, not a window: a filter on any reading column (a time window, the rows a build wrote) is pushed
        through a group by on those columns down to the readings' scan, so a consumer that needs a few readings
        does not attribute them all.
    -#}
    select
        readings.device_id,
        readings.heart_rate_bpm,
        readings.measured_at,
        readings._batch_id,
        readings._built_at,
        max_by(registrations.user_id, struct(registrations.valid_from, registrations.user_id)) as user_id
    from readings
    inner join registrations
        on
            readings.device_id = registrations.device_id
            and readings.measured_at >= registrations.valid_from
            and (registrations.valid_to is null or readings.measured_at < registrations.valid_to)
    group by
        readings.device_id,
        readings.heart_rate_bpm,
        readings.measured_at,
        readings._batch_id,
        readings._built_at

),

final as (

    select
        owners.device_id,
        owners.user_id,
        owners.heart_rate_bpm,
        owners.measured_at,
        owners._batch_id,
        owners._built_at
    from owners

)

select * from final
