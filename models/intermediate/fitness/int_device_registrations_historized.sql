{{ config(materialized='table') }}

{#-
    SCD2 of device registrations from every version of the registry's full extract (gaps and islands):
      - a user's rows in consecutive extracts with the same device_id and mac_address are one version; a change,
        or a return after missing from an extract, starts a new one;
      - a version whose user is missing from the next extract was deleted then (observed_to = that extract);
      - validity is in business time: valid_from = the version's updated_at (when the device / MAC address took
        effect; never before the previous version's start), valid_to = the next version's valid_from, or for a
        deleted registration, which a full extract carries no time for, the deleting extract's time (or the next
        re-registration's start, if earlier).
    Intervals are half-open [valid_from, valid_to); valid_to NULL is the current registration. The result depends
    only on the extracts in bronze, not on when builds ran. A table (several models read it), rebuilt in full:
    it grows with the number of extracts times members, not with readings.
-#}

with

registrations as (

    select * from {{ ref('stg_device_registry__registrations') }}

),

extract_batches as (

    select
        registrations.extracted_at,
        max(registrations._batch_id) as batch_id
    from registrations
    group by registrations.extracted_at

),

extracts as (

    select
        extract_batches.extracted_at,
        extract_batches.batch_id,
        lag(extract_batches.extracted_at) over (order by extract_batches.extracted_at) as previous_extract_at,
        lead(extract_batches.extracted_at) over (order by extract_batches.extracted_at) as next_extract_at,
        lead(extract_batches.batch_id) over (order by extract_batches.extracted_at) as next_batch_id
    from extract_batches

),

user_extracts as (

    select
        registrations.user_id,
        registrations.device_id,
        registrations.mac_address,
        registrations.registered_at,
        registrations.updated_at,
        registrations.extracted_at,
        extracts.batch_id,
        extracts.previous_extract_at,
        extracts.next_extract_at,
        extracts.next_batch_id,
        lag(registrations.extracted_at) over (
            partition by registrations.user_id order by registrations.extracted_at
        ) as user_previous_extract_at,
        lead(registrations.extracted_at) over (
            partition by registrations.user_id order by registrations.extracted_at
        ) as user_next_extract_at,
        lag(registrations.device_id) over (
            partition by registrations.user_id order by registrations.extracted_at
        ) as previous_device_id,
        lag(registrations.mac_address) over (
            partition by registrations.user_id order by registrations.extracted_at
        ) as previous_mac_address
    from registrations
    inner join extracts
        on registrations.extracted_at = extracts.extracted_at

),

flagged as (

    select
        user_extracts.*,
        case
            when user_extracts.user_previous_extract_at is null then 1
            when user_extracts.user_previous_extract_at != user_extracts.previous_extract_at then 1
            when not (user_extracts.device_id <=> user_extracts.previous_device_id) then 1
            when not (user_extracts.mac_address <=> user_extracts.previous_mac_address) then 1
            else 0
        end as starts_version
    from user_extracts

),

numbered as (

    select
        flagged.*,
        sum(flagged.starts_version) over (
            partition by flagged.user_id
            order by flagged.extracted_at
            rows between unbounded preceding and current row
        ) as version_number
    from flagged

),

versions as (

    select
        numbered.user_id,
        numbered.version_number,
        min_by(numbered.device_id, numbered.extracted_at) as device_id,
        min_by(numbered.mac_address, numbered.extracted_at) as mac_address,
        min_by(numbered.registered_at, numbered.extracted_at) as registered_at,
        min_by(numbered.updated_at, numbered.extracted_at) as updated_at,
        min(numbered.extracted_at) as observed_from,
        min_by(numbered.batch_id, numbered.extracted_at) as first_batch_id,
        {#- Deleted: the user is missing from the extract after the version's last one. -#}
        max_by(
            case
                when
                    numbered.next_extract_at is not null
                    and not (numbered.user_next_extract_at <=> numbered.next_extract_at)
                    then numbered.next_extract_at
            end,
            numbered.extracted_at
        ) as deleted_at,
        max_by(
            case
                when
                    numbered.next_extract_at is not null
                    and not (numbered.user_next_extract_at <=> numbered.next_extract_at)
                    then numbered.next_batch_id
            end,
            numbered.extracted_at
        ) as deleted_batch_id
    from numbered
    group by numbered.user_id, numbered.version_number

),

effective as (

    select
        versions.*,
        max(coalesce(versions.updated_at, versions.registered_at)) over (
            partition by versions.user_id
            order by versions.observed_from
            rows between unbounded preceding and current row
        ) as effective_at
    from versions

),

sequenced as (

    select
        effective.*,
        lead(effective.effective_at) over (partition by effective.user_id order by effective.observed_from)
            as next_effective_at,
        lead(effective.observed_from) over (partition by effective.user_id order by effective.observed_from)
            as next_observed_from
    from effective

),

historized as (

    select
        sequenced.*,
        md5(concat(cast(sequenced.user_id as string), '|', cast(sequenced.observed_from as string)))
            as registration_version_id,
        coalesce(sequenced.deleted_at, sequenced.next_observed_from) as observed_to,
        sequenced.deleted_at is null and sequenced.next_observed_from is null as is_current,
        coalesce(sequenced.deleted_batch_id, sequenced.first_batch_id) as _batch_id,
        case
            when sequenced.deleted_at is null then sequenced.next_effective_at
            else
                greatest(
                    sequenced.effective_at,
                    least(sequenced.deleted_at, coalesce(sequenced.next_effective_at, sequenced.deleted_at))
                )
        end as effective_to
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
        historized.observed_to,
        historized._batch_id
    from historized

)

select * from final
