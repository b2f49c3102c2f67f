{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['user_id', 'valid_from'],
    )
}}

{#-
    SCD2 from the CDC events, in business time (updated_at), whatever order they arrive in. Every non-delete event
    is a version valid from its updated_at until the user's next event (a change or a delete); at one instant a
    change sorts before a delete. A version's key (user_id, valid_from) never goes away once it exists, so an
    incremental run only needs to recompute the whole history of the users that have events in ingestion batches
    newer than any the table holds (batch_watermark) and merge it: an event arriving late, or several in one
    batch, reshapes that user's history exactly as a full refresh would.
-#}

with

events as (

    select * from {{ ref('stg_user_profile_cdc__profile_events') }}

),

changed_users as (

    select distinct events.user_id
    from events
    {% if is_incremental() %}
        where events._batch_id > {{ batch_watermark() }}
    {% endif %}

),

user_events as (

    select events.*
    from events
    inner join changed_users
        on events.user_id = changed_users.user_id

),

sequenced as (

    select
        user_events.*,
        lead(user_events.updated_at) over (
            partition by user_events.user_id
            order by user_events.updated_at, user_events.is_deletion
        ) as next_event_at
    from user_events

),

versions as (

    select
        sequenced.*,
        sequenced.next_event_at is null as is_current
    from sequenced
    where not sequenced.is_deletion

),

final as (

    select
        versions.user_id,
        versions.first_name,
        versions.last_name,
        versions.sex,
        versions.street,
        versions.city,
        versions.state,
        versions.zip_code,
        versions.is_current,
        versions.birth_date,
        versions.updated_at as valid_from,
        versions.next_event_at as valid_to,
        versions._source_file,
        versions._batch_id,
        versions._ingested_at
    from versions

)

{% if is_incremental() %}
    {{ exclude_unchanged('final') }}
{% else %}
    select * from final
{% endif %}
