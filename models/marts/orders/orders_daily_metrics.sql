{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['order_date', 'store_id'],
    )
}}

{#-
    One row per store and local day with orders placed or refunds paid. Incremental: a build recomputes, from all
    their orders and refunds, only the (day, store) pairs that orders or refunds of newer batches touch (an order's
    placement day; a refund's day, and the refund days of a touched order's refunds), and merges them. The
    _orders_batch_id and _refunds_batch_id lineage columns are the watermarks.
-#}

{%- if is_incremental() -%}
    {%- set marks = incremental_marks(['_orders_batch_id', '_refunds_batch_id']) -%}
{%- endif %}

with

orders as (

    select * from {{ ref('int_orders') }}

),

all_refunds as (

    select * from {{ ref('stg_refunds__refunds') }}

),

stores as (

    select * from {{ ref('stores') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

refunds as (

    select
        all_refunds.refund_id,
        all_refunds.order_id,
        all_refunds.amount,
        all_refunds._batch_id,
        orders.store_id,
        orders._batch_id as order_batch_id,
        {{ local_date('all_refunds.refunded_at', 'stores.timezone') }} as refund_date
    from all_refunds
    inner join orders
        on all_refunds.order_id = orders.order_id
    inner join stores
        on orders.store_id = stores.store_id

),

{% if is_incremental() %}
    touched_days as (

        select
            orders.order_date as metric_date,
            orders.store_id
        from orders
        where orders._batch_id > {{ marks._orders_batch_id }}

        union

        select
            refunds.refund_date as metric_date,
            refunds.store_id
        from refunds
        where
            refunds._batch_id > {{ marks._refunds_batch_id }}
            or refunds.order_batch_id > {{ marks._orders_batch_id }}

    ),
{% endif %}

daily_orders as (

    select
        orders.order_date as metric_date,
        orders.store_id,
        count_if(not orders.is_cancelled) as orders,
        count_if(orders.is_cancelled) as cancelled_orders,
        coalesce(sum(case when not orders.is_cancelled then orders.item_quantity end), 0) as items,  -- noqa: RF04
        coalesce(sum(case when not orders.is_cancelled then orders.gross_amount end), 0) as gross_revenue,
        count(distinct case when not orders.is_cancelled then orders.customer_id end) as distinct_customers,
        max(orders._batch_id) as orders_batch_id
    from orders
    {% if is_incremental() %}
        left semi join touched_days
            on orders.order_date = touched_days.metric_date and orders.store_id = touched_days.store_id
    {% endif %}
    group by orders.order_date, orders.store_id

),

daily_refunds as (

    select
        refunds.refund_date as metric_date,
        refunds.store_id,
        count(*) as refund_count,
        sum(refunds.amount) as refunded,
        max(refunds._batch_id) as refunds_batch_id
    from refunds
    {% if is_incremental() %}
        left semi join touched_days
            on refunds.refund_date = touched_days.metric_date and refunds.store_id = touched_days.store_id
    {% endif %}
    group by refunds.refund_date, refunds.store_id

),

daily as (

    select
        coalesce(daily_orders.metric_date, daily_refunds.metric_date) as order_date,
        coalesce(daily_orders.store_id, daily_refunds.store_id) as store_id,
        coalesce(daily_orders.orders, 0) as orders,
        coalesce(daily_orders.cancelled_orders, 0) as cancelled_orders,
        coalesce(daily_orders.items, 0) as items,  -- noqa: RF04
        coalesce(daily_orders.gross_revenue, 0) as gross_revenue,
        coalesce(daily_refunds.refund_count, 0) as refund_count,
        coalesce(daily_refunds.refunded, 0) as refunded,
        coalesce(daily_orders.distinct_customers, 0) as distinct_customers,
        coalesce(daily_orders.orders_batch_id, -1) as orders_batch_id,
        coalesce(daily_refunds.refunds_batch_id, -1) as refunds_batch_id
    from daily_orders
    full outer join daily_refunds
        on daily_orders.metric_date = daily_refunds.metric_date and daily_orders.store_id = daily_refunds.store_id

),

final as (

    select
        daily.order_date,
        daily.store_id,
        stores.currency,
        cast(daily.orders as bigint) as orders,
        cast(daily.cancelled_orders as bigint) as cancelled_orders,
        cast(daily.items as bigint) as items,  -- noqa: RF04
        cast(daily.gross_revenue as decimal(18, 2)) as gross_revenue,
        cast(daily.refund_count as bigint) as refund_count,
        cast(daily.refunded as decimal(18, 2)) as refunds,
        cast(daily.gross_revenue - daily.refunded as decimal(18, 2)) as net_revenue,
        cast(round(daily.gross_revenue / nullif(daily.orders, 0), 2) as decimal(18, 2)) as average_order_value,
        cast(daily.distinct_customers as bigint) as distinct_customers,
        cast(round((daily.gross_revenue - daily.refunded) * currencies.usd_per_unit, 2) as decimal(18, 2))
            as net_revenue_usd,
        daily.orders_batch_id as _orders_batch_id,
        daily.refunds_batch_id as _refunds_batch_id
    from daily
    inner join stores
        on daily.store_id = stores.store_id
    left join currencies
        on stores.currency = currencies.currency

)

{% if is_incremental() %}
    {{ exclude_unchanged('final') }}
{% else %}
    select * from final
{% endif %}
