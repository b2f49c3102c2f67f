with

source as (

    select * from {{ source('refunds', 'refunds') }}

),

renamed as (

    select
        cast(source.refund_id as bigint) as refund_id,
        cast(source.order_id as bigint) as order_id,
        cast(source.line_no as int) as line_no,
        cast(source.quantity as int) as quantity,
        cast(source.amount as decimal(12, 2)) as amount,
        cast(source.refunded_at as timestamp) as refunded_at,
        cast(source._source_file as string) as _source_file,
        cast(source._source_row as bigint) as _source_row,
        cast(source._batch_id as bigint) as _batch_id,
        cast(source._ingested_at as timestamp) as _ingested_at,
        upper(trim(cast(source.currency as string))) as currency,
        lower(trim(cast(source.reason as string))) as reason,
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
            partition by checked.refund_id
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
        ranked.refund_id,
        ranked.order_id,
        ranked.line_no,
        ranked.quantity,
        ranked.amount,
        ranked.currency,
        ranked.refunded_at,
        ranked.reason,
        ranked.has_rescued_data,
        ranked._source_file,
        ranked._source_row,
        ranked._batch_id,
        ranked._ingested_at
    from ranked
    where ranked.version_rank = 1

)

select * from final
