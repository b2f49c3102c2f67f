"""A table built by an older version of an incremental model (without the lineage columns the new version keeps its
watermarks in) stops the build with one line naming the table, the missing columns and the command that rebuilds
it, instead of Spark's analysis error."""

from __future__ import annotations

import pytest

from runtime.dbt import run_dbt

pytestmark = pytest.mark.integration


def test_an_incremental_table_without_its_watermark_columns_asks_for_a_full_refresh(spark, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "dev")  # a schema of its own: the session's test tables stay as built
    table = "dev_gold.customer_order_summary"
    spark.sql("create database if not exists dev_gold")
    spark.sql(f"create or replace table {table} (customer_id bigint, orders bigint) using delta")
    try:
        result = run_dbt(["build", "--select", "customer_order_summary", "--exclude", "resource_type:unit_test"])
        assert not result.success
        [failed] = [r for r in result.result if str(r.status) == "error"]
        assert failed.node.name == "customer_order_summary"
        assert "lacks _customers_batch_id, _orders_batch_id, _refunds_batch_id" in failed.message
        assert "lakehouse build --full-refresh --select customer_order_summary" in failed.message
        assert "UNRESOLVED_COLUMN" not in failed.message
    finally:
        spark.sql(f"drop table if exists {table}")
