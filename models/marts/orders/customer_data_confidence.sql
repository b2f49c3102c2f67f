{#- Per customer: how far their data can be trusted, as a 0-1 score (the formula is in the model's YAML). -#}

with

customers as (

    select * from {{ ref('int_customers_current') }}

),

checks as (

    select * from {{ ref('int_customer_record_checks') }}

),

order_events as (

    select * from {{ ref('stg_orders__order_events') }}

),

record_times as (

    select
        customers.customer_id,
        customers.updated_at as recorded_at
    from customers

    union all

    select
        order_events.customer_id,
        order_events.updated_at as recorded_at
    from order_events

),

last_records as (

    select
        record_times.customer_id,
        max(record_times.recorded_at) as last_record_at
    from record_times
    group by record_times.customer_id

),

data_as_of as (

    select max(record_times.recorded_at) as as_of
    from record_times

),

customer_checks as (

    select
        checks.customer_id,
        count(*) as records_checked,
        count_if(checks.passed) as records_passed
    from checks
    group by checks.customer_id

),

scored as (

    select
        customers.customer_id,
        customers.completeness,
        last_records.last_record_at,
        coalesce(customer_checks.records_checked, 0) as records_checked,
        coalesce(customer_checks.records_passed, 0) as records_passed,
        coalesce(customer_checks.records_passed / nullif(customer_checks.records_checked, 0), 1.0) as pass_rate,
        datediff(data_as_of.as_of, last_records.last_record_at) as days_since_last_record
    from customers
    cross join data_as_of
    left join customer_checks
        on customers.customer_id = customer_checks.customer_id
    left join last_records
        on customers.customer_id = last_records.customer_id

),

final as (

    select
        scored.customer_id,
        cast(scored.records_checked as bigint) as records_checked,
        cast(scored.records_passed as bigint) as records_passed,
        cast(round(scored.pass_rate, 4) as decimal(5, 4)) as pass_rate,
        cast(scored.completeness as decimal(5, 4)) as completeness,
        scored.last_record_at,
        cast(scored.days_since_last_record as int) as days_since_last_record,
        cast(round(greatest(0.0, 1.0 - scored.days_since_last_record / 30.0), 4) as decimal(5, 4)) as freshness,
        cast(
            round(
                0.5 * scored.pass_rate
                + 0.3 * scored.completeness
                + 0.2 * greatest(0.0, 1.0 - scored.days_since_last_record / 30.0),
                4
            )
            as decimal(5, 4)
        ) as confidence_score
    from scored

)

select * from final
