{% macro databricks__apply_grants(relation, grant_config, should_revoke=True) %}
    {#-
        dbt's own grants (show grants, then grant and revoke the difference). Without this the project's spark__
        version, which skips them, would replace it on the databricks target (dispatch looks for databricks__,
        then spark__, in the root project before the adapter's macros).
    -#}
    {{ return(dbt.default__apply_grants(relation, grant_config, should_revoke)) }}
{% endmacro %}
