{#-
    The registry is a full extract rewritten in place; bronze keeps every version ingested (allow_overwrites), each
    with the file's modification time. One row per user per extract version: the registration history is derived
    from all of them (int_device_registrations_historized), so it does not depend on how often dbt runs.
-#}

with

source as (

    select * from {{ source('device_registry', 'device_registry') }}

),

renamed as (

    select
        cast(source.user_id as bigint) as user_id,
        cast(source.device_id as bigint) as device_id,
        {{ normalize_mac_address('cast(source.mac_address as string)') }} as mac_address,
        cast(source.registered_at as timestamp) as registered_at,
        cast(source.updated_at as timestamp) as updated_at,
        cast(source._file_modified_at as timestamp) as extracted_at,
        cast(source._source_file as string) as _source_file,
        cast(source._source_row as bigint) as _source_row,
        cast(source._batch_id as bigint) as _batch_id,
        cast(source._ingested_at as timestamp) as _ingested_at,
        source._rescued_data is not null as has_rescued_data
    from source
    where source._corrupt_record is null

),

checked as (

    {{ expectations_filter('renamed') }}

),

ranked as (

    {#- A user listed twice in one extract: the later line wins. -#}
    select
        checked.*,
        row_number() over (
            partition by checked.user_id, checked.extracted_at
            order by checked._batch_id desc, checked._source_row desc
        ) as version_rank
    from checked

),

final as (

    select
        ranked.user_id,
        ranked.device_id,
        ranked.mac_address,
        ranked.has_rescued_data,
        ranked.registered_at,
        ranked.updated_at,
        ranked.extracted_at,
        ranked._source_file,
        ranked._source_row,
        ranked._batch_id,
        ranked._ingested_at
    from ranked
    where ranked.version_rank = 1

)

select * from final
