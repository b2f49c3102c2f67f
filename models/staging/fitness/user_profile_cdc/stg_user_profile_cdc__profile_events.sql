with

source as (

    select * from {{ source('user_profile_cdc', 'user_profile_cdc') }}

),

renamed as (

    select
        cast(source.user_id as bigint) as user_id,
        cast(source.first_name as string) as first_name,
        cast(source.last_name as string) as last_name,
        cast(source.sex as string) as sex,
        cast(source.address.street as string) as street,
        cast(source.address.city as string) as city,
        cast(source.address.state as string) as state,  -- noqa: RF04
        cast(source.address.zip as string) as zip_code,
        cast(source.dob as date) as birth_date,
        cast(source.updated_at as timestamp) as updated_at,
        cast(source._source_file as string) as _source_file,
        cast(source._source_row as bigint) as _source_row,
        cast(source._batch_id as bigint) as _batch_id,
        cast(source._ingested_at as timestamp) as _ingested_at,
        lower(trim(cast(source.update_type as string))) as update_type,
        lower(trim(cast(source.update_type as string))) = 'delete' as is_deletion,
        source._rescued_data is not null as has_rescued_data
    from source
    where source._corrupt_record is null

),

checked as (

    {{ expectations_filter('renamed') }}

),

ranked as (

    {#- A change and a delete at the same instant are two events; anything else at one instant is one re-sent event. -#}
    select
        checked.*,
        row_number() over (
            partition by checked.user_id, checked.updated_at, checked.is_deletion
            order by
                checked._ingested_at desc,
                checked._batch_id desc,
                checked._source_file desc,
                checked._source_row desc
        ) as version_rank
    from checked

),

final as (

    select
        ranked.user_id,
        ranked.update_type,
        ranked.is_deletion,
        ranked.first_name,
        ranked.last_name,
        ranked.sex,
        ranked.street,
        ranked.city,
        ranked.state,
        ranked.zip_code,
        ranked.has_rescued_data,
        ranked.birth_date,
        ranked.updated_at,
        ranked._source_file,
        ranked._source_row,
        ranked._batch_id,
        ranked._ingested_at
    from ranked
    where ranked.version_rank = 1

)

select * from final
