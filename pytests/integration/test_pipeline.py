"""The reference pipeline end to end, in process: generated raw days -> ingestion -> dbt build, batch after batch.
Proves that incremental builds equal a full refresh row for row, that a build with nothing new changes nothing,
and that the generator's manifest reconciles with bronze, silver and the quarantine."""

from __future__ import annotations

import json

import pytest
from conftest import built_tables, fingerprints
from pyspark.sql import functions as F

from runtime.dbt import build_changed, run_dbt

pytestmark = pytest.mark.integration


def _tables(spark, layer: str) -> list[str]:
    return [f"test_{layer}.{name}" for name in built_tables(spark, f"test_{layer}")]


def _fingerprints(spark) -> dict[str, tuple[int, int]]:
    return fingerprints({table: spark.table(table) for table in _tables(spark, "silver") + _tables(spark, "gold")})


def _built(result) -> list[str]:
    """Models and seeds a dbt invocation built."""
    return [r.node.name for r in result.result if r.node.resource_type in ("model", "seed")]


def test_idempotent_then_full_refresh_equals_incremental(spark, pipeline):
    incremental = _fingerprints(spark)
    assert incremental and all(rows > 0 for rows, _ in incremental.values()), incremental
    versions = {t: spark.sql(f"describe history {t} limit 1").first().version for t in incremental}

    # Nothing new for any model: no source they read is fresher, no code changed, so none is selected. (Other tests
    # of the session write to the shared transfer log: its own source tests may run.)
    changed_only = build_changed()
    assert changed_only.success and _built(changed_only) == []
    # Every model run (tests add nothing here: the fixture's builds ran them), nothing new: incremental models
    # merge nothing.
    assert run_dbt(["run"]).success
    assert _fingerprints(spark) == incremental
    for table, version in versions.items():
        latest = spark.sql(f"describe history {table} limit 1").first()
        if latest.version != version and latest.operation == "MERGE":
            metrics = latest.operationMetrics
            changed = sum(
                int(metrics.get(k, 0))
                for k in ("numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsDeleted")
            )
            assert changed == 0, f"{table} changed {changed} rows with nothing new"

    assert run_dbt(["run", "--full-refresh"]).success
    refreshed = _fingerprints(spark)
    assert refreshed == incremental, {
        t: (incremental[t], refreshed.get(t)) for t in incremental if incremental[t] != refreshed.get(t)
    }

    # The full refresh wrote each day of readings as one file: nothing for auto compaction to rewrite after it.
    readings = "test_silver.stg_heart_rate__readings"
    assert spark.sql(f"describe history {readings} limit 1").first().operation == "CREATE OR REPLACE TABLE AS SELECT"
    days = spark.table(readings).select("measured_date").distinct().count()
    assert spark.sql(f"describe detail {readings}").first().numFiles == days > 1


def test_rows_a_statement_carries_are_written_as_one_file(spark, pipeline):
    """Seeds, expectation results and the transfer log's appends: each write is one file (not one per row up to
    Spark's parallelism), so these tables do not pile up small files for compaction to rewrite."""
    for table in ("test_silver.gyms", "test_silver.expectation_results", "test_bronze.ingestion_transfer_log"):
        writes = spark.sql(f"describe history {table}").where(F.col("operation") == "WRITE").collect()
        assert writes and {int(w.operationMetrics["numFiles"]) for w in writes} == {1}, table


def test_bronze_feeds_an_incremental_delta_model_through_a_dbt_source(spark, pipeline):
    readings = "test_silver.stg_heart_rate__readings"
    assert spark.sql(f"describe detail {readings}").first().format == "delta"
    operations = [row.operation for row in spark.sql(f"describe history {readings}").collect()]
    assert "MERGE" in operations  # later batches were merged, not rebuilt


def test_manifest_reconciles_with_bronze(spark, pipeline):
    for source in ("heart_rate", "user_profile_cdc", "workouts", "gym_logins", "device_registry"):
        bronze = spark.table(f"test_bronze.{source}")
        expected_records = sum(
            f.records for day in pipeline.manifests for f in day.files if f.path.startswith(source + "/")
        )
        expected_malformed = sum(
            f.malformed for day in pipeline.manifests for f in day.files if f.path.startswith(source + "/")
        )
        assert bronze.count() == expected_records, source
        assert bronze.where(F.col("_corrupt_record").isNotNull()).count() == expected_malformed, source


def test_manifest_reconciles_with_silver_and_the_quarantine(spark, pipeline):
    """Heart rate: every generated reading is in silver once, or was a known kind of dirt, or is quarantined."""
    files = [f for day in pipeline.manifests for f in day.files if f.source == "heart_rate"]
    records = sum(f.records for f in files)
    malformed = sum(f.malformed for f in files)
    out_of_range = sum(f.dirt.get("out_of_range", 0) for f in files)
    repeats = sum(f.dirt.get("duplicates", 0) + f.dirt.get("resent", 0) for f in files)
    assert out_of_range and repeats and malformed  # the generator did make each kind of dirt

    silver = spark.table("test_silver.stg_heart_rate__readings").count()
    quarantined = (
        spark.table("test_silver.expectation_quarantine")
        .where((F.col("model_name") == "stg_heart_rate__readings") & (F.col("rule_name") == "heart_rate_in_range"))
        .count()
    )
    assert quarantined == out_of_range
    assert silver == records - malformed - out_of_range - repeats


def _orders_files(pipeline, source: str) -> list:
    return [f for batch in pipeline.orders_manifests for f in batch.files if f.source == source]


def _summed(files, kind: str) -> int:
    return sum(f.records if kind == "records" else f.dirt.get(kind, 0) + f.events.get(kind, 0) for f in files)


def _quarantined(spark, model: str, rule: str, *keys: str) -> int:
    """Distinct records (by `keys`, read from the quarantined JSON) that `rule` of `model` quarantined."""
    rows = spark.table("test_silver.expectation_quarantine").where(
        (F.col("model_name") == model) & (F.col("rule_name") == rule)
    )
    return rows.select(*[F.get_json_object("record", f"$.{key}").alias(key) for key in keys]).distinct().count()


def test_orders_manifest_reconciles_with_bronze_silver_gold_and_the_quarantine(spark, pipeline):
    """Orders: every line landed is in bronze (malformed ones as corrupt records, unknown keys rescued); every
    order placed is in silver once, unless it had no customer id (quarantined); every negative line is
    quarantined once however many events repeated it; every refund and customer version is in silver once;
    gold counts every silver order and refund exactly once."""
    for source in ("customers", "orders", "refunds"):
        files = _orders_files(pipeline, source)
        bronze = spark.table(f"test_bronze.{source}")
        assert bronze.count() == _summed(files, "records"), source
        assert bronze.where(F.col("_corrupt_record").isNotNull()).count() == sum(f.malformed for f in files), source
        assert bronze.where(F.col("_rescued_data").isNotNull()).count() == _summed(files, "unknown_field"), source

    orders = _orders_files(pipeline, "orders")
    placed, missing_customer = _summed(orders, "placed"), _summed(orders, "missing_customer_id")
    negative_lines = _summed(orders, "negative_quantity")
    assert missing_customer and negative_lines and _summed(orders, "late_event")  # the generator made each kind
    silver_orders = spark.table("test_silver.int_orders")
    assert silver_orders.count() == silver_orders.select("order_id").distinct().count() == placed - missing_customer
    assert _quarantined(spark, "stg_orders__order_events", "customer_id_present", "order_id") == missing_customer
    assert _quarantined(spark, "stg_orders__order_lines", "quantity_positive", "order_id", "line_no") == negative_lines

    refunds = _summed(_orders_files(pipeline, "refunds"), "refunds")
    assert refunds and spark.table("test_silver.stg_refunds__refunds").count() == refunds
    customers = _orders_files(pipeline, "customers")
    versions, signed_up = _summed(customers, "new") + _summed(customers, "update"), _summed(customers, "new")
    assert spark.table("test_silver.stg_customers__customers").count() == versions
    assert spark.table("test_silver.int_customers_current").count() == signed_up

    daily = (
        spark.table("test_gold.orders_daily_metrics")
        .agg(F.sum("orders").alias("orders"), F.sum("cancelled_orders").alias("cancelled"), F.sum("refund_count"))
        .first()
    )
    assert (daily.orders + daily.cancelled, daily[2]) == (placed - missing_customer, refunds)
    summary = spark.table("test_gold.customer_order_summary")
    assert summary.count() == signed_up
    assert summary.agg(F.sum(F.col("orders") + F.col("cancelled_orders"))).first()[0] == placed - missing_customer
    confidence = spark.table("test_gold.customer_data_confidence")
    assert confidence.count() == signed_up
    # A customer with an order carrying a quarantined line has a record that failed: their pass rate is below 1.
    flawed = (
        spark.table("test_silver.expectation_quarantine")
        .where((F.col("model_name") == "stg_orders__order_lines") & (F.col("rule_name") == "quantity_positive"))
        .select(F.get_json_object("record", "$.order_id").cast("bigint").alias("order_id"))
        .join(silver_orders, "order_id")
        .join(confidence, "customer_id")
    )
    assert flawed.count() and flawed.where(F.col("pass_rate") >= 1).count() == 0


def test_every_completed_workout_has_its_readings(spark, pipeline):
    """Readings are attributed to the device's owner at their time, even when the device was later handed to
    someone else or its owner left: the registry's every extract version reaches bronze (each batch is ingested
    before the next extract lands) and the registration history is derived from all of them."""
    sessions = spark.table("test_gold.workout_bpm_summary")
    assert sessions.count() > 0
    assert sessions.where(F.col("num_readings") == 0).count() == 0
    registrations = spark.table("test_silver.int_device_registrations_historized")
    assert registrations.where(~F.col("is_current")).count() > 0  # the history has past owners to keep


def test_a_bad_batch_is_quarantined_and_deduplicated_like_a_full_build(spark, pipeline):
    """Expectations and deduplication check the new batch as they check everything, in each incremental staging
    model: NULL keys, out-of-range values and impossible actions are quarantined, a key sent twice in a file keeps
    its later line, and only the new batch is checked. (Last in the module: it adds data to the shared
    pipeline.)"""
    device = spark.table("test_silver.stg_heart_rate__readings").first().device_id
    readings = [
        {"device_id": device, "time": "2026-01-06T23:59:01Z", "heartrate": 70.0},
        {"device_id": None, "time": "2026-01-06T23:59:02Z", "heartrate": 71.0},
        {"device_id": device, "time": "2026-01-06T23:59:03Z", "heartrate": 300.0},
        {"device_id": device, "time": "2026-01-06T23:59:04Z", "heartrate": 90.0},
        {"device_id": device, "time": "2026-01-06T23:59:04Z", "heartrate": 80.0},
    ]
    start = {"user_id": 1, "workout_id": 99990001, "session_id": 99990001, "action": "start"}
    events = [
        {**start, "timestamp": "2026-01-06T23:58:00Z"},
        {**start, "user_id": None, "timestamp": "2026-01-06T23:58:01Z"},
        {**start, "action": "pause", "timestamp": "2026-01-06T23:58:02Z"},
        {**start, "timestamp": "2026-01-06T23:58:00Z"},
    ]
    logins = [
        "aa:bb:cc:dd:ee:01,1,2026-01-06T23:50:00Z,2026-01-06T23:55:00Z",
        ",1,2026-01-06T23:51:00Z,2026-01-06T23:52:00Z",
        "aa:bb:cc:dd:ee:01,1,2026-01-06T23:53:00Z,2026-01-06T23:52:00Z",
        "aa:bb:cc:dd:ee:01,1,2026-01-06T23:50:00Z,2026-01-06T23:56:00Z",
    ]
    day = "day=2026-01-06"
    for source in ("heart_rate", "workouts", "gym_logins"):
        (pipeline.landing / source / day).mkdir(parents=True, exist_ok=True)
    (pipeline.landing / "heart_rate" / day / "zz-bad-batch.json").write_text(
        "".join(json.dumps(line) + "\n" for line in readings)
    )
    (pipeline.landing / "workouts" / day / "zz-bad-batch.json").write_text(
        "".join(json.dumps(line) + "\n" for line in events)
    )
    (pipeline.landing / "gym_logins" / day / "zz-bad-batch.csv").write_text(
        "mac_address,gym_id,login,logout\n" + "".join(line + "\n" for line in logins)
    )
    expected = {  # model: (rules that quarantine one row each, rows the build checked)
        "stg_heart_rate__readings": ({"device_id_present": 1, "heart_rate_in_range": 1}, len(readings)),
        "stg_workouts__workout_events": ({"session_key_present": 1, "action_is_start_or_stop": 1}, len(events)),
        "stg_gym_logins__logins": ({"login_key_present": 1, "logout_after_login": 1}, len(logins)),
    }
    quarantine = spark.table("test_silver.expectation_quarantine")

    def quarantined(model: str) -> dict[str, int]:
        rows = quarantine.where(F.col("model_name") == model).groupBy("rule_name").count().collect()
        return {row.rule_name: row["count"] for row in rows}

    before = {model: quarantined(model) for model in expected}

    pipeline.ingest(spark)
    built = build_changed()
    assert built.success
    kinds = {r.node.resource_type for r in built.result}
    assert "test" in kinds and "unit_test" not in kinds  # new data reruns data tests; unit tests follow code only

    for model, (rules, checked) in expected.items():
        after = quarantined(model)
        added = {rule: after[rule] - before[model].get(rule, 0) for rule in after}
        assert {rule: n for rule, n in added.items() if n} == rules, model
        latest = (
            spark.table("test_silver.expectation_results")
            .where(F.col("model_name") == model)
            .orderBy(F.col("recorded_at").desc())
            .first()
        )
        assert latest.rows_checked == checked, model  # the build checked the new batch, not all history
    new_readings = spark.table("test_silver.stg_heart_rate__readings").where(
        (F.col("device_id") == device) & (F.col("measured_at") >= "2026-01-06 23:59:00")
    )
    assert sorted((str(r.measured_at), r.heart_rate_bpm) for r in new_readings.collect()) == [
        ("2026-01-06 23:59:01", 70.0),
        ("2026-01-06 23:59:04", 80.0),
    ]
    session = spark.table("test_silver.stg_workouts__workout_events").where(F.col("session_id") == 99990001)
    assert [(r.user_id, r.action, str(r.occurred_at)) for r in session.collect()] == [
        (1, "start", "2026-01-06 23:58:00")
    ]
    visits = spark.table("test_silver.stg_gym_logins__logins").where(F.col("mac_address") == "aa:bb:cc:dd:ee:01")
    assert [(str(r.login_at), str(r.logout_at)) for r in visits.collect()] == [
        ("2026-01-06 23:50:00", "2026-01-06 23:56:00")
    ]


def test_a_model_writes_the_rows_its_expectations_checked_while_ingestion_commits(spark, pipeline, monkeypatch):
    """An ingestion committing while a build runs (the engine allows it) lands between a model's expectations (its
    pre-hook) and its own statement. The model writes only the rows that were checked; the next build checks the
    batch that landed meanwhile: its bad row is quarantined, not silently filtered, its good row merged.
    (After the bad-batch test: it adds data to the shared pipeline.)"""
    from dbt.adapters.spark.session import Cursor

    device = spark.table("test_silver.stg_heart_rate__readings").first().device_id
    folder = pipeline.landing / "heart_rate" / "day=2026-01-06"
    folder.mkdir(parents=True, exist_ok=True)

    def land(name: str, readings: list[tuple]) -> None:
        lines = [{"device_id": d, "time": f"2026-01-06T23:59:{s}Z", "heartrate": bpm} for d, s, bpm in readings]
        (folder / name).write_text("".join(json.dumps(line) + "\n" for line in lines))

    def readings_at(second: str) -> int:
        at = f"2026-01-06 23:59:{second}"
        return spark.table("test_silver.stg_heart_rate__readings").where(F.col("measured_at") == at).count()

    def quarantined() -> int:
        quarantine = spark.table("test_silver.expectation_quarantine")
        return quarantine.where(F.col("model_name") == "stg_heart_rate__readings").count()

    def rows_checked() -> int:
        results = spark.table("test_silver.expectation_results")
        latest = results.where(F.col("model_name") == "stg_heart_rate__readings").orderBy(F.desc("recorded_at"))
        return latest.first().rows_checked

    land("zz-race-1.json", [(device, "30", 72.0)])
    pipeline.ingest(spark)
    execute, landed = Cursor.execute, []

    def execute_then_ingest(cursor, sql, *parameters):
        execute(cursor, sql, *parameters)
        if not landed and "cache table stg_heart_rate__readings__expectation_candidates" in sql:
            land("zz-race-2.json", [(device, "31", 73.0), (None, "32", 74.0)])
            landed.extend(pipeline.ingest(spark))

    monkeypatch.setattr(Cursor, "execute", execute_then_ingest)
    before = quarantined()
    assert build_changed().success
    assert landed, "the build never checked stg_heart_rate__readings"
    assert (readings_at("30"), readings_at("31")) == (1, 0)  # the batch landed after the check waits
    assert (rows_checked(), quarantined()) == (1, before)

    monkeypatch.setattr(Cursor, "execute", execute)
    assert build_changed().success
    assert (readings_at("31"), readings_at("32")) == (1, 0)
    assert (rows_checked(), quarantined()) == (2, before + 1)  # the NULL device_id is quarantined, not lost


def test_build_tests_check_the_rows_it_wrote_and_dbt_test_checks_all(spark, pipeline):
    """The tests of the big heart-rate models check, in a build, the rows that build wrote (their cost follows the
    new data); `dbt test` sweeps the whole table. Rows broken behind dbt's back show which is which: an
    out-of-range value, and a NULL in a key column (primary_key checks the key's columns for NULL too). A NULL in
    a column of a not_null_columns test (of another model, swept along) fails that test."""
    readings, profiles = "test_silver.stg_heart_rate__readings", "test_silver.int_user_profiles_historized"
    versions = {table: spark.sql(f"describe history {table} limit 1").first().version for table in (readings, profiles)}
    first, second = spark.table(readings).orderBy("measured_at").limit(2).collect()
    row = "_source_file = '{0._source_file}' and _source_row = {0._source_row}".format
    spark.sql(f"update {readings} set heart_rate_bpm = 500 where {row(first)}")
    spark.sql(f"update {readings} set measured_at = null where {row(second)}")
    user = spark.table(profiles).where("is_current").orderBy("user_id").first().user_id
    spark.sql(f"update {profiles} set _ingested_at = null where user_id = {user} and is_current")
    try:
        data_tests = ["--exclude", "resource_type:unit_test"]
        selection = ["--select", "stg_heart_rate__readings", *data_tests]
        assert run_dbt(["build", *selection]).success  # nothing new built: the old rows are not re-checked
        # The build's expectation results were appended at its end, and their temporary views dropped.
        assert spark.sql("show views like '*__expectation_results__*'").where("isTemporary").count() == 0
        sweep = run_dbt(["test", "--select", "stg_heart_rate__readings", "int_user_profiles_historized", *data_tests])
        assert not sweep.success
        failed = [r.node.name for r in sweep.result if str(r.status) == "fail"]
        assert any(name.startswith("expression_is_true_stg_heart_rate__readings") for name in failed), failed
        assert any(name.startswith("primary_key_stg_heart_rate__readings") for name in failed), failed
        assert any(name.startswith("not_null_columns_int_user_profiles_historized") for name in failed), failed
    finally:
        for table, version in versions.items():
            spark.sql(f"restore table {table} to version as of {version}")
