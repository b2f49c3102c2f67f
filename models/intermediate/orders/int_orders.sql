{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='order_id',
    )
}}

{#-
    The conformed orders. An order's status is that of its latest event by updated_at (a late event that is not
    the latest changes nothing; on a tie the further status wins). Incremental: a build recomputes, from all
    their events and lines, only the orders with events in ingestion batches newer than the table's
    (batch_watermark), and merges them.
-#}

with

all_events as (

    select * from {{ ref('stg_orders__order_events') }}

),

lines as (

    select * from {{ ref('stg_orders__order_lines') }}

),

stores as (

    select * from {{ ref('stores') }}

),

touched_orders as (

    select distinct all_events.order_id
    from all_events
    {% if is_incremental() %}
        where all_events._batch_id > {{ batch_watermark() }}
    {% endif %}

),

events as (

    select
        all_events.*,
        case all_events.status
            when 'placed' then 1
            when 'paid' then 2
            when 'shipped' then 3
            when 'delivered' then 4
            when 'cancelled' then 5
        end as status_rank
    from all_events
    left semi join touched_orders
        on all_events.order_id = touched_orders.order_id

),

latest_events as (

    select
        events.*,
        row_number() over (
            partition by events.order_id
            order by events.updated_at desc, events.status_rank desc
        ) as recency_rank
    from events

),

milestones as (

    select
        events.order_id,
        min(case when events.status = 'placed' then events.updated_at end) as placed_at,
        min(case when events.status = 'paid' then events.updated_at end) as paid_at,
        min(case when events.status = 'shipped' then events.updated_at end) as shipped_at,
        min(case when events.status = 'delivered' then events.updated_at end) as delivered_at,
        min(case when events.status = 'cancelled' then events.updated_at end) as cancelled_at,
        max(events._batch_id) as _batch_id
    from events
    group by events.order_id

),

order_lines as (

    select
        lines.order_id,
        count(*) as line_count,
        sum(lines.quantity) as item_quantity,
        sum(lines.line_amount) as gross_amount
    from lines
    left semi join touched_orders
        on lines.order_id = touched_orders.order_id
    group by lines.order_id

),

final as (

    select
        latest_events.order_id,
        latest_events.customer_id,
        latest_events.store_id,
        latest_events.currency,
        latest_events.ordered_at,
        {{ local_date('latest_events.ordered_at', 'stores.timezone') }} as order_date,
        latest_events.status,
        latest_events.status = 'cancelled' as is_cancelled,
        milestones.placed_at,
        milestones.paid_at,
        milestones.shipped_at,
        milestones.delivered_at,
        milestones.cancelled_at,
        cast(coalesce(order_lines.line_count, 0) as int) as line_count,
        cast(coalesce(order_lines.item_quantity, 0) as bigint) as item_quantity,
        cast(coalesce(order_lines.gross_amount, 0) as decimal(16, 2)) as gross_amount,
        milestones._batch_id
    from latest_events
    inner join milestones
        on latest_events.order_id = milestones.order_id
    left join stores
        on latest_events.store_id = stores.store_id
    left join order_lines
        on latest_events.order_id = order_lines.order_id
    where latest_events.recency_rank = 1

)

{% if is_incremental() %}
    {{ exclude_unchanged('final') }}
{% else %}
    select * from final
{% endif %}
