{% macro spark__apply_grants(relation, grant_config, should_revoke=True) %}
    {#-
        Spark has no GRANT (only Databricks' Unity Catalog does): a model's `grants` are skipped here, and the run
        says so once (grant_layer_access), not once per model.
    -#}
{% endmacro %}
