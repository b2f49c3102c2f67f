{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='customer_id',
    )
}}

{#-
    One row per customer (every customer, with or without orders); amounts in USD at the seed's rates.
    Incremental: a build recomputes, from all their orders and refunds, only the customers that newer batches touch
    (a new current version of the customer, an order placed or changed, a refund of one of their orders), and merges
    them. The _customers_batch_id, _orders_batch_id and _refunds_batch_id lineage columns are the watermarks.
-#}

{%- if is_incremental() -%}
    {%- set marks = incremental_marks(['_customers_batch_id', '_orders_batch_id', '_refunds_batch_id']) -%}
{%- endif %}

with

all_customers as (

    select * from {{ ref('int_customers_current') }}

),

all_orders as (

    select * from {{ ref('int_orders') }}

),

all_refunds as (

    select * from {{ ref('stg_refunds__refunds') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

{% if is_incremental() %}
    touched_customers as (

        select all_customers.customer_id
        from all_customers
        where all_customers._batch_id > {{ marks._customers_batch_id }}

        union

        select all_orders.customer_id
        from all_orders
        where all_orders._batch_id > {{ marks._orders_batch_id }}

        union

        select all_orders.customer_id
        from all_refunds
        inner join all_orders
            on all_refunds.order_id = all_orders.order_id
        where all_refunds._batch_id > {{ marks._refunds_batch_id }}

    ),
{% endif %}

customers as (

    select all_customers.*
    from all_customers
    {% if is_incremental() %}
        left semi join touched_customers
            on all_customers.customer_id = touched_customers.customer_id
    {% endif %}

),

orders as (

    select all_orders.*
    from all_orders
    {% if is_incremental() %}
        left semi join touched_customers
            on all_orders.customer_id = touched_customers.customer_id
    {% endif %}

),

order_refunds as (

    select
        all_refunds.order_id,
        sum(all_refunds.amount) as refunded,
        max(all_refunds._batch_id) as refunds_batch_id
    from all_refunds
    left semi join orders
        on all_refunds.order_id = orders.order_id
    group by all_refunds.order_id

),

customer_orders as (

    select
        orders.customer_id,
        count_if(not orders.is_cancelled) as orders,
        count_if(orders.is_cancelled) as cancelled_orders,
        sum(case when not orders.is_cancelled then orders.item_quantity else 0 end) as items,  -- noqa: RF04
        sum(case when not orders.is_cancelled then orders.gross_amount * currencies.usd_per_unit else 0 end)
            as gross_revenue_usd,
        sum(coalesce(order_refunds.refunded, 0) * currencies.usd_per_unit) as refunds_usd,
        min(orders.ordered_at) as first_ordered_at,
        max(orders.ordered_at) as last_ordered_at,
        max(orders._batch_id) as orders_batch_id,
        max(order_refunds.refunds_batch_id) as refunds_batch_id
    from orders
    left join order_refunds
        on orders.order_id = order_refunds.order_id
    left join currencies
        on orders.currency = currencies.currency
    group by orders.customer_id

),

final as (

    select
        customers.customer_id,
        customers.country_code,
        customers.signed_up_at,
        cast(coalesce(customer_orders.orders, 0) as bigint) as orders,
        cast(coalesce(customer_orders.cancelled_orders, 0) as bigint) as cancelled_orders,
        cast(coalesce(customer_orders.items, 0) as bigint) as items,  -- noqa: RF04
        cast(round(coalesce(customer_orders.gross_revenue_usd, 0), 2) as decimal(18, 2)) as gross_revenue_usd,
        cast(round(coalesce(customer_orders.refunds_usd, 0), 2) as decimal(18, 2)) as refunds_usd,
        cast(
            round(coalesce(customer_orders.gross_revenue_usd, 0) - coalesce(customer_orders.refunds_usd, 0), 2)
            as decimal(18, 2)
        ) as net_revenue_usd,
        cast(round(customer_orders.gross_revenue_usd / nullif(customer_orders.orders, 0), 2) as decimal(18, 2))
            as average_order_value_usd,
        customer_orders.first_ordered_at,
        customer_orders.last_ordered_at,
        customers._batch_id as _customers_batch_id,
        coalesce(customer_orders.orders_batch_id, -1) as _orders_batch_id,
        coalesce(customer_orders.refunds_batch_id, -1) as _refunds_batch_id
    from customers
    left join customer_orders
        on customers.customer_id = customer_orders.customer_id

)

{% if is_incremental() %}
    {{ exclude_unchanged('final') }}
{% else %}
    select * from final
{% endif %}
