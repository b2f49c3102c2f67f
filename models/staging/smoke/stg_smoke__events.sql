{{ config(materialized='incremental', unique_key='event_id', incremental_strategy='merge') }}

with

source as (

    select * from {{ source('smoke', 'smoke_events') }}

),

final as (

    select
        cast(source.event_id as bigint) as event_id,
        cast(source.payload as string) as payload
    from source
    {% if is_incremental() %}
        where source.event_id > (select coalesce(max(existing.event_id), -1) from {{ this }} as existing)
    {% endif %}

)

select * from final
