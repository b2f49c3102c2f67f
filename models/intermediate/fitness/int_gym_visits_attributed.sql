{#-
    A gym login belongs to the user whose registration of its MAC address was valid at login time (the same
    point-in-time rule as int_heart_rate_readings_attributed). Logins of an address nobody had registered then
    are left out.
-#}

with

logins as (

    select * from {{ ref('stg_gym_logins__logins') }}

),

registrations as (

    select * from {{ ref('int_device_registrations_historized') }}

),

owners as (

    select
        logins.gym_id,
        logins.mac_address,
        registrations.user_id,
        logins.login_at,
        logins.logout_at,
        row_number() over (
            partition by logins.mac_address, logins.gym_id, logins.login_at
            order by registrations.valid_from desc, registrations.user_id desc
        ) as owner_rank
    from logins
    inner join registrations
        on
            logins.mac_address = registrations.mac_address
            and logins.login_at >= registrations.valid_from
            and (registrations.valid_to is null or logins.login_at < registrations.valid_to)

),

final as (

    select
        owners.gym_id,
        owners.mac_address,
        owners.user_id,
        owners.login_at,
        owners.logout_at
    from owners
    where owners.owner_rank = 1

)

select * from final
