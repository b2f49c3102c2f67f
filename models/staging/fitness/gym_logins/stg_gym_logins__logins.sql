{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['mac_address', 'gym_id', 'login_at'],
        merge_window_column='login_at',
    )
}}

{#-
    Incremental like stg_heart_rate__readings: each build reads only the bronze rows of batches newer than any the
    table holds and merges them on the login's key, so its expectations, tests and readers cost what the batch
    costs, not every login since the start. A re-sent login (a later logout) replaces the one it re-sends; the
    merge touches only the table's rows from the new logins' earliest time on.
-#}

{%- if is_incremental() -%}
    {%- set watermark = batch_watermark() -%}
{%- endif %}

with

source as (

    select * from {{ pinned(source('gym_logins', 'gym_logins')) }}
    {% if is_incremental() %}
        where _batch_id > {{ watermark }}
    {% endif %}

),

renamed as (

    select
        {{ normalize_mac_address('cast(source.mac_address as string)') }} as mac_address,
        cast(source.gym_id as bigint) as gym_id,
        cast(source.login as timestamp) as login_at,
        cast(source.logout as timestamp) as logout_at,
        cast(source._source_file as string) as _source_file,
        cast(source._source_row as bigint) as _source_row,
        cast(source._batch_id as bigint) as _batch_id,
        cast(source._ingested_at as timestamp) as _ingested_at,
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
            partition by checked.mac_address, checked.gym_id, checked.login_at
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
        ranked.mac_address,
        ranked.gym_id,
        ranked.has_rescued_data,
        ranked.login_at,
        ranked.logout_at,
        ranked._source_file,
        ranked._source_row,
        ranked._batch_id,
        ranked._ingested_at,
        {{ built_at() }} as _built_at
    from ranked
    where ranked.version_rank = 1

)

select * from final
