with

source as (

    select * from {{ source('customers', 'customers') }}

),

renamed as (

    select
        cast(source.customer_id as bigint) as customer_id,
        cast(source.signed_up_at as timestamp) as signed_up_at,
        cast(source.updated_at as timestamp) as updated_at,
        cast(source._source_file as string) as _source_file,
        cast(source._source_row as bigint) as _source_row,
        cast(source._batch_id as bigint) as _batch_id,
        cast(source._ingested_at as timestamp) as _ingested_at,
        nullif(lower(trim(cast(source.email as string))), '') as email,
        nullif(trim(cast(source.first_name as string)), '') as first_name,
        nullif(trim(cast(source.last_name as string)), '') as last_name,
        nullif(upper(trim(cast(source.country as string))), '') as country_code,
        source._rescued_data is not null as has_rescued_data
    from source
    where source._corrupt_record is null

),

checked as (

    {{ expectations_filter('renamed') }}

),

ranked as (

    select
        checked.*,
        row_number() over (
            partition by checked.customer_id, checked.updated_at
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
        ranked.customer_id,
        ranked.email,
        ranked.first_name,
        ranked.last_name,
        ranked.country_code,
        ranked.signed_up_at,
        ranked.updated_at,
        ranked.has_rescued_data,
        ranked._source_file,
        ranked._source_row,
        ranked._batch_id,
        ranked._ingested_at
    from ranked
    where ranked.version_rank = 1

)

select * from final
