{#-
    Business-time validity of each registration version. The snapshot's dbt_valid_from / dbt_valid_to are when a
    snapshot run *observed* a change (system time): after a backfill, or with a lag between a change and the
    next run, they say nothing about when a device really changed hands. The registry's own updated_at does:
      - valid_from = updated_at of the version (never earlier than the previous version's start);
      - valid_to   = the next version's valid_from when a later snapshot replaced it;
                     for a deleted registration, which a full extract carries no time for, the time the snapshot
                     observed the deletion (or the next re-registration's start, if earlier).
    Intervals are half-open [valid_from, valid_to); valid_to NULL is the current registration.
-#}

with

snapshot as (

    select * from {{ ref('snap_device_registrations') }}

),

versions as (

    select
        snapshot.dbt_scd_id as registration_version_id,
        snapshot.user_id,
        snapshot.device_id,
        snapshot.mac_address,
        snapshot.registered_at,
        snapshot.updated_at,
        snapshot.dbt_valid_from as observed_from,
        snapshot.dbt_valid_to as observed_to,
        max(coalesce(snapshot.updated_at, snapshot.registered_at)) over (
            partition by snapshot.user_id
            order by snapshot.dbt_valid_from
            rows between unbounded preceding and current row
        ) as effective_at
    from snapshot

),

sequenced as (

    select
        versions.*,
        lead(versions.effective_at) over (partition by versions.user_id order by versions.observed_from)
            as next_effective_at,
        lead(versions.observed_from) over (partition by versions.user_id order by versions.observed_from)
            as next_observed_from
    from versions

),

historized as (

    select
        sequenced.*,
        case
            when sequenced.observed_to is null then null
            when sequenced.observed_to = sequenced.next_observed_from then sequenced.next_effective_at
            else
                greatest(
                    sequenced.effective_at,
                    least(sequenced.observed_to, coalesce(sequenced.next_effective_at, sequenced.observed_to))
                )
        end as effective_to,
        sequenced.observed_to is null as is_current
    from sequenced

),

final as (

    select
        historized.registration_version_id,
        historized.user_id,
        historized.device_id,
        historized.mac_address,
        historized.is_current,
        historized.registered_at,
        historized.updated_at,
        historized.effective_at as valid_from,
        historized.effective_to as valid_to,
        historized.observed_from,
        historized.observed_to
    from historized

)

select * from final
