"""The engine (runtime/engine.py) as a user runs it on a cluster: a Spark standalone master and two workers on
127.0.0.1, the engine as the cluster's driver, landing zone and warehouse on the S3 server (workers share no
disk). The same project, unchanged, must give the same silver and gold as the in-process run, row for row, and
an ingestion and a dbt build started together on the engine must both succeed with exact counts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import built_tables, fingerprints, free_port
from pyspark.sql import functions as F

from generator import generate
from ingestion.ingest import Ingestor
from ingestion.storage import Storage
from runtime.dbt import run_dbt
from runtime.engine import _spark_home
from runtime.project import load_config
from runtime.spark import ingestion_codegen

pytestmark = pytest.mark.integration
LAKEHOUSE = [sys.executable, "-m", "runtime.cli"]
SCALE = 0.1
# When a build or an ingestion ran: differ between any two runs (the quarantine's record_hash hashes `record`, which
# is compared without them).
RUN_COLUMNS = ("_built_at", "_ingested_at", "invocation_id", "quarantined_at", "record_hash")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL what is left after 30 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except (OSError, ValueError):  # not up, or not yet leader: the master then answered /json/ with an HTML page
        return 0


@pytest.fixture
def standalone_cluster(tmp_path):
    """A Spark standalone master and two one-core workers on 127.0.0.1; every process is stopped at the end."""
    port, ui_port = free_port(), free_port()
    env = {**os.environ, "SPARK_HOME": str(_spark_home()), "SPARK_LOCAL_IP": "127.0.0.1"}
    spark_class = str(_spark_home() / "bin" / "spark-class")
    processes: list[subprocess.Popen] = []

    def launch(name: str, *args: str) -> None:
        log = (tmp_path / f"{name}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [spark_class, *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    master = f"spark://127.0.0.1:{port}"
    try:
        launch("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
               "--webui-port", str(ui_port))  # fmt: skip
        for i in range(2):
            work = tmp_path / f"worker-{i}"
            launch(f"worker-{i}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                   "--memory", "1500m", "--webui-port", str(free_port()), "--work-dir", str(work), master)  # fmt: skip
        deadline = time.monotonic() + 120
        while _alive_workers(ui_port) < 2:
            assert time.monotonic() < deadline, "the standalone cluster did not come up: " + str(tmp_path)
            assert all(p.poll() is None for p in processes), "a cluster process exited: see " + str(tmp_path)
            time.sleep(1)
        yield master
    finally:
        for process in reversed(processes):
            _stop(process)


def _comparable(frame):
    if "record" in frame.columns:  # a quarantined row as JSON, with the run's columns in it
        frame = frame.withColumn("record", F.regexp_replace("record", r'"_(ingested|built)_at":"[^"]*",?', ""))
    return frame


def test_the_project_on_a_cluster_with_tables_on_s3_equals_the_local_run(
    spark, s3_server, standalone_cluster, tmp_path, monkeypatch
):
    bucket = "cluster-lake"
    s3_server.client().create_bucket(Bucket=bucket)
    landing, warehouse = f"s3a://{bucket}/landing", f"s3a://{bucket}/warehouse"
    storage = Storage(s3_server.endpoint)

    def land(day: int) -> None:
        generate(lambda path, data: storage.write(f"{landing}/{path}", data), days=range(day, day + 1), scale=SCALE)

    env = {
        **os.environ,
        "LAKEHOUSE_HOME": str(tmp_path / "engine-home"),
        "LAKEHOUSE_LANDING_URI": landing,
        "LAKEHOUSE_S3_ENDPOINT": s3_server.endpoint,
        "LAKEHOUSE_WAREHOUSE_URI": warehouse,
        "LAKEHOUSE_DRIVER_MEMORY": "2g",
    }

    def lakehouse(*args: str, wait: bool = True):
        command = [*LAKEHOUSE, *args]
        if wait:
            return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    land(0)
    started = lakehouse("engine", "start", "--master", standalone_cluster, "--port", str(free_port()))
    assert started.returncode == 0, started.stderr
    try:
        status = lakehouse("engine", "status")
        assert status.returncode == 0 and "answering" in status.stdout and standalone_cluster in status.stdout
        for step in (("ingest", "run"), ("build",)):
            run = lakehouse(*step)
            assert run.returncode == 0, f"{step}: {run.stdout[-3000:]}\n{run.stderr[-3000:]}"
            assert "Traceback" not in run.stderr

        # The same files, in process on this machine, into the dev environment of the test metastore. The cluster
        # interpreted its queries (a few MB: runtime/spark.py's compiles); here they are compiled, so the comparison
        # also shows that both ways of evaluating give the same tables.
        monkeypatch.setenv("LAKEHOUSE_ENV", "dev")
        monkeypatch.setenv("LAKEHOUSE_LANDING_URI", landing)
        monkeypatch.setenv("LAKEHOUSE_S3_ENDPOINT", s3_server.endpoint)
        monkeypatch.setenv("LAKEHOUSE_CODEGEN", "on")
        assert "LAKEHOUSE_CODEGEN" not in env
        config = load_config()
        ingestor = Ingestor(spark, config, bronze_schema="dev_bronze", before_run=ingestion_codegen(spark))
        results = ingestor.run_all(list(config.sources.values()))
        assert spark.conf.get("spark.sql.codegen.factoryMode") == "FALLBACK"
        assert all(result.ok for result in results)
        # Models and seeds only: the comparison is of tables, and the cluster's build ran every test already.
        assert run_dbt(["build", "--exclude", "resource_type:test", "resource_type:unit_test"]).success
        tables = [(layer, table) for layer in ("silver", "gold") for table in built_tables(spark, f"dev_{layer}")]
        local = fingerprints(
            {f"{layer}.{table}": _comparable(spark.table(f"dev_{layer}.{table}")) for layer, table in tables},
            RUN_COLUMNS,
        )
        on_cluster = fingerprints(
            {
                f"{layer}.{table}": _comparable(spark.read.format("delta").load(f"{warehouse}/test_{layer}.db/{table}"))
                for layer, table in tables
            },
            RUN_COLUMNS,
        )
        assert len(local) >= 8
        assert on_cluster == local

        # Ingestion and a build started together on the one engine: both succeed, every file exactly once.
        land(1)
        ingest, build = lakehouse("ingest", "run", wait=False), lakehouse("build", wait=False)
        for name, process in (("ingest", ingest), ("build", build)):
            out, err = process.communicate(timeout=900)
            assert process.returncode == 0, f"{name}: {out[-3000:]}\n{err[-3000:]}"
        bronze = f"{warehouse}/test_bronze.db"
        log = spark.read.format("delta").load(f"{bronze}/ingestion_transfer_log").where(F.col("status") == "committed")
        for name, source in config.sources.items():
            committed = log.where(F.col("source") == name).groupBy("file_path", "file_modified_at")
            assert committed.count().where(F.col("count") > 1).count() == 0, name
            stored = F.col("rows_written") + F.col("rows_quarantined")  # quarantined rows stay in bronze, flagged
            written = log.where(F.col("source") == name).groupBy("file_path").agg(F.sum(stored))
            in_bronze = spark.read.format("delta").load(f"{bronze}/{source.table}").groupBy("_source_file").count()
            written, in_bronze = ({tuple(row) for row in frame.collect()} for frame in (written, in_bronze))
            assert in_bronze == written, name
    finally:
        stopped = lakehouse("engine", "stop")
        assert stopped.returncode == 0, stopped.stderr
    assert not Path(env["LAKEHOUSE_HOME"], "engine.json").exists()


def test_dbt_reads_a_query_alike_sent_once_and_described_by_its_rows(spark):
    """Through an engine, dbt-spark's cursor sends a query that only reads once, collects its rows at once and
    describes the result from them (runtime/dbt.py). dbt must read the same table as through dbt-spark's own
    cursor, a query without rows keeps its types, and a query that fails is still one dbt error."""
    from types import SimpleNamespace

    from dbt.adapters.spark.connections import SparkConnectionManager
    from dbt.adapters.spark.session import Cursor
    from dbt_common.exceptions import DbtRuntimeError

    from runtime.dbt import _reading_once, _row_description

    execute_once = _reading_once(Cursor.execute)
    queries = (
        '/* {"app": "dbt"} */\n  select 3 as failures, "x" as name, cast(null as double) as ratio, '
        "date'2026-12-07' as day",
        "-- a unit test\nwith t as (select 1 as id, 'a' as name) select * from t where false limit 0",
    )
    for sql in queries:
        by_schema, by_rows = Cursor(), Cursor()
        by_schema.execute(sql)
        execute_once(by_rows, sql)
        assert by_rows._rows is not None  # read in execute: one statement, not three
        described = _row_description(by_rows)
        rows = SimpleNamespace(description=described, fetchall=by_rows.fetchall)
        expected = SparkConnectionManager.get_result_from_cursor(by_schema, None)
        found = SparkConnectionManager.get_result_from_cursor(rows, None)
        assert found.column_names == expected.column_names
        assert [tuple(row) for row in found.rows] == [tuple(row) for row in expected.rows]
        assert all(SparkConnectionManager.data_type_code_to_name(code) for _, code, *_ in described)
    assert described == by_schema.description  # no row: the schema's own types

    with pytest.raises(DbtRuntimeError, match="TABLE_OR_VIEW_NOT_FOUND"):
        execute_once(Cursor(), "select * from no_such_table_anywhere")
    command = Cursor()
    execute_once(command, "create or replace temporary view sent_once_check as select 1 as id")
    assert command._rows is None and spark.table("sent_once_check").count() == 1  # a command: dbt-spark's way
