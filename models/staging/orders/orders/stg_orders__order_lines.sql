{#-
    Every order event carries the whole order, so a line is read from each event (rules are checked there, before
    deduplication) and the line of the order's latest event is kept.
-#}

with

source as (

    select * from {{ source('orders', 'orders') }}

),

exploded as (

    select
        source.order_id,
        source.customer_id,
        source.updated_at,
        source._source_file,
        source._source_row,
        source._batch_id,
        source._ingested_at,
        explode(source.items) as item
    from source
    where source._corrupt_record is null

),

renamed as (

    select
        cast(exploded.order_id as bigint) as order_id,
        cast(exploded.item.line_no as int) as line_no,
        cast(exploded.customer_id as bigint) as customer_id,
        cast(exploded.item.product_id as bigint) as product_id,
        cast(exploded.item.quantity as int) as quantity,
        cast(exploded.item.unit_price as decimal(12, 2)) as unit_price,
        cast(exploded.updated_at as timestamp) as updated_at,
        cast(exploded._source_file as string) as _source_file,
        cast(exploded._source_row as bigint) as _source_row,
        cast(exploded._batch_id as bigint) as _batch_id,
        cast(exploded._ingested_at as timestamp) as _ingested_at
    from exploded

),

checked as (

    {{ expectations_filter('renamed') }}

),

ranked as (

    select
        checked.*,
        row_number() over (
            partition by checked.order_id, checked.line_no
            order by
                checked.updated_at desc,
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
        ranked.line_no,
        ranked.product_id,
        ranked.quantity,
        ranked.unit_price,
        cast(ranked.quantity * ranked.unit_price as decimal(14, 2)) as line_amount,
        ranked.updated_at,
        ranked._source_file,
        ranked._source_row,
        ranked._batch_id,
        ranked._ingested_at
    from ranked
    where ranked.version_rank = 1

)

select * from final
