{#- One row per customer (every customer, with or without orders); amounts in USD at the seed's rates. -#}

with

customers as (

    select * from {{ ref('int_customers_current') }}

),

orders as (

    select * from {{ ref('int_orders') }}

),

refunds as (

    select * from {{ ref('stg_refunds__refunds') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

order_refunds as (

    select
        refunds.order_id,
        sum(refunds.amount) as refunded
    from refunds
    group by refunds.order_id

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
        max(orders.ordered_at) as last_ordered_at
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
        customer_orders.last_ordered_at
    from customers
    left join customer_orders
        on customers.customer_id = customer_orders.customer_id

)

select * from final
