with

source as (

    select * from {{ source('orders', 'orders') }}

),

renamed as (

    select
        cast(source.order_id as bigint) as order_id,
        cast(source.customer_id as bigint) as customer_id,
        cast(source.store_id as bigint) as store_id,
        cast(source.ordered_at as timestamp) as ordered_at,
        cast(source.updated_at as timestamp) as updated_at,
        cast(source._source_file as string) as _source_file,
        cast(source._source_row as bigint) as _source_row,
        cast(source._batch_id as bigint) as _batch_id,
        cast(source._ingested_at as timestamp) as _ingested_at,
        lower(trim(cast(source.status as string))) as status,  -- noqa: RF04,
        upper(trim(cast(source.currency as string))) as currency,
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
            partition by checked.order_id, checked.status, checked.updated_at
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
        ranked.order_id,
        ranked.customer_id,
        ranked.store_id,
        ranked.status,
        ranked.currency,
        ranked.ordered_at,
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
