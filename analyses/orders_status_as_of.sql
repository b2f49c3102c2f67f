{#-
    How many orders are in each status now, and how many were at an earlier version of int_orders (time
    travel, macros/as_of.sql): what the builds since then changed. `lakehouse history silver.int_orders` lists
    the versions; pick one with --vars (default 0, the table's first build):
        lakehouse dbt show --select orders_status_as_of --vars '{as_of_version: 1}'
-#}

with

current_orders as (

    select * from {{ ref('int_orders') }}

),

earlier_orders as (

    select * from {{ as_of(ref('int_orders'), version=var('as_of_version', 0)) }}

),

current_counts as (

    select
        current_orders.status,
        count(*) as order_count
    from current_orders
    group by current_orders.status

),

earlier_counts as (

    select
        earlier_orders.status,
        count(*) as order_count
    from earlier_orders
    group by earlier_orders.status

),

final as (

    select
        coalesce(current_counts.status, earlier_counts.status) as status,
        coalesce(earlier_counts.order_count, 0) as earlier_order_count,
        coalesce(current_counts.order_count, 0) as current_order_count,
        coalesce(current_counts.order_count, 0) - coalesce(earlier_counts.order_count, 0) as order_count_change
    from current_counts
    full outer join earlier_counts
        on current_counts.status = earlier_counts.status

)

select * from final
order by status
