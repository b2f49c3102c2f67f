{#-
    Every record of the orders domain that names a customer, with whether it passed the expectations its staging
    model checks: the records in silver (passing unless a `warn` rule flagged rescued data) and the records a
    `drop` rule quarantined (read from the quarantine as JSON). One row per distinct record: a customer version
    (customer_id, updated_at), an order event (order_id, status, updated_at), an order line (order_id, line_no;
    a quarantined line counts once however many events carried it). Records without a customer id belong to
    nobody and are not here.
-#}

-- depends_on: {{ ref('stg_customers__customers') }}
-- depends_on: {{ ref('stg_orders__order_events') }}
-- depends_on: {{ ref('stg_orders__order_lines') }}
{%- set quarantine = expectation_relations().quarantine %}

with

customer_versions as (

    select * from {{ ref('stg_customers__customers') }}

),

order_events as (

    select * from {{ ref('stg_orders__order_events') }}

),

order_lines as (

    select * from {{ ref('stg_orders__order_lines') }}

),

quarantined as (

    select
        quarantine.model_name,
        quarantine.record
    from {{ quarantine }} as quarantine
    where
        quarantine.model_name in (
            'stg_customers__customers', 'stg_orders__order_events', 'stg_orders__order_lines'
        )

),

order_customers as (

    select
        order_events.order_id,
        max(order_events.customer_id) as customer_id
    from order_events
    group by order_events.order_id

),

checks as (

    select
        customer_versions.customer_id,
        'customer' as record_type,
        concat_ws('|', customer_versions.customer_id, customer_versions.updated_at) as record_key,
        not customer_versions.has_rescued_data as passed
    from customer_versions

    union all

    select
        order_events.customer_id,
        'order_event' as record_type,
        concat_ws('|', order_events.order_id, order_events.status, order_events.updated_at) as record_key,
        not order_events.has_rescued_data as passed
    from order_events

    union all

    select
        order_customers.customer_id,
        'order_line' as record_type,
        concat_ws('|', order_lines.order_id, order_lines.line_no) as record_key,
        true as passed
    from order_lines
    inner join order_customers
        on order_lines.order_id = order_customers.order_id

    union all

    select distinct
        cast(get_json_object(quarantined.record, '$.customer_id') as bigint) as customer_id,
        case quarantined.model_name
            when 'stg_customers__customers' then 'customer'
            when 'stg_orders__order_events' then 'order_event'
            else 'order_line'
        end as record_type,
        case quarantined.model_name
            when 'stg_customers__customers'
                then concat_ws(
                        '|',
                        get_json_object(quarantined.record, '$.customer_id'),
                        get_json_object(quarantined.record, '$.updated_at')
                    )
            when 'stg_orders__order_events'
                then concat_ws(
                        '|',
                        get_json_object(quarantined.record, '$.order_id'),
                        get_json_object(quarantined.record, '$.status'),
                        get_json_object(quarantined.record, '$.updated_at')
                    )
            else concat_ws(
                    '|',
                    get_json_object(quarantined.record, '$.order_id'),
                    get_json_object(quarantined.record, '$.line_no')
                )
        end as record_key,
        false as passed
    from quarantined
    where get_json_object(quarantined.record, '$.customer_id') is not null

),

final as (

    select
        checks.customer_id,
        checks.record_type,
        checks.record_key,
        checks.passed
    from checks
    where checks.customer_id is not null

)

select * from final
