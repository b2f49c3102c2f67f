{#- The latest version of each customer record (by updated_at, then latest ingested), with its completeness. -#}

with

versions as (

    select * from {{ ref('stg_customers__customers') }}

),

ranked as (

    select
        versions.*,
        row_number() over (
            partition by versions.customer_id
            order by versions.updated_at desc, versions._ingested_at desc, versions._batch_id desc
        ) as recency_rank,
        count(*) over (partition by versions.customer_id) as version_count
    from versions

),

final as (

    select
        ranked.customer_id,
        ranked.email,
        ranked.first_name,
        ranked.last_name,
        ranked.country_code,
        ranked.signed_up_at,
        ranked.updated_at,
        ranked.version_count,
        cast(
            (
                cast(ranked.email is not null as int)
                + cast(ranked.first_name is not null as int)
                + cast(ranked.last_name is not null as int)
                + cast(ranked.country_code is not null as int)
            ) / 4.0
            as decimal(5, 4)
        ) as completeness,
        ranked._batch_id
    from ranked
    where ranked.recency_rank = 1

)

select * from final
