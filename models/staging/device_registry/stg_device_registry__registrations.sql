{#-
    The registry is a full extract rewritten in place daily; bronze keeps every version. Only the latest version
    (its highest _batch_id) describes today's registrations: the snapshot snap_device_registrations keeps history.
-#}

with

source as (

    select * from {{ source('device_registry', 'device_registry') }}

),

latest_extract as (

    select max(source._batch_id) as batch_id
    from source

),

renamed as (

    select
        cast(source.user_id as bigint) as user_id,
        cast(source.device_id as bigint) as device_id,
        {{ normalize_mac_address('cast(source.mac_address as string)') }} as mac_address,
        cast(source.registered_at as timestamp) as registered_at,
        cast(source.updated_at as timestamp) as updated_at,
        cast(source._source_file as string) as _source_file,
        cast(source._file_modified_at as timestamp) as _file_modified_at,
        cast(source._batch_id as bigint) as _batch_id,
        cast(source._ingested_at as timestamp) as _ingested_at,
        source._rescued_data is not null as has_rescued_data
    from source
    inner join latest_extract
        on source._batch_id = latest_extract.batch_id
    where source._corrupt_record is null

),

checked as (

    {{ expectations_filter('renamed') }}

),

ranked as (

    select
        checked.*,
        row_number() over (
            partition by checked.user_id
            order by
                checked.updated_at desc,
                checked._source_file desc,
                checked.device_id desc,
                checked.mac_address desc
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
        ranked._source_file,
        ranked._file_modified_at,
        ranked._batch_id,
        ranked._ingested_at
    from ranked
    where ranked.version_rank = 1

)

select * from final
