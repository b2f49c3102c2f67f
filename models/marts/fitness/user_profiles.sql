with

history as (

    select * from {{ ref('int_user_profiles_historized') }}

),

final as (

    select
        history.user_id,
        history.first_name,
        history.last_name,
        history.sex,
        history.street,
        history.city,
        history.state,
        history.zip_code,
        history.birth_date,
        history.valid_from as profile_updated_at
    from history
    where history.is_current

)

select * from final
