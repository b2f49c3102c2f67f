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

    select
        readings.device_id,
        registrations.user_id,
        readings.heart_rate_bpm,
        readings.measured_at,
        readings._batch_id,
        readings._built_at,
        row_number() over (
            partition by readings.device_id, readings.measured_at
            order by registrations.valid_from desc, registrations.user_id desc
        ) as owner_rank
    from readings
    inner join registrations
        on
            readings.device_id = registrations.device_id
            and readings.measured_at >= registrations.valid_from
            and (registrations.valid_to is null or readings.measured_at < registrations.valid_to)

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
    where owners.owner_rank = 1

)

select * from final
