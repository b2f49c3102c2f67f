"""The foundation: environments are guarded, and bad set-up gets a one-line message instead of a stack trace.
(The bronze -> dbt source -> incremental Delta model chain is proven by test_pipeline.py on the real models.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.dbt import run_dbt

pytestmark = pytest.mark.integration
LAKEHOUSE = [sys.executable, "-m", "runtime.cli"]


def test_prod_is_refused_without_the_production_switch(spark, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "prod")
    monkeypatch.delenv("LAKEHOUSE_ALLOW_PROD", raising=False)
    result = run_dbt(["build", "--select", "stg_heart_rate__readings"])
    assert not result.success
    assert not spark.catalog.databaseExists("prod_silver")


def _run_cli(args, env):
    return subprocess.run([*LAKEHOUSE, *args], env=env, capture_output=True, text=True, timeout=600)


def test_no_java_gets_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # the CLI is started by absolute path; nothing else is on PATH
    result = _run_cli(["setup"], env)
    assert result.returncode == 2
    assert "Java not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_java_gets_a_clear_message(tmp_path):
    fake_home = tmp_path / "jdk11"
    (fake_home / "bin").mkdir(parents=True)
    java = fake_home / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.21\" 2023-10-17' >&2\n")
    java.chmod(0o755)
    result = _run_cli(["setup"], {**os.environ, "JAVA_HOME": str(fake_home)})
    assert result.returncode == 2
    assert "Java 11 found, but Spark 4 needs Java 17 or 21" in result.stderr


def test_no_network_on_first_run_gets_a_clear_message(tmp_path):
    env = {
        **os.environ,
        "LAKEHOUSE_JARS": str(tmp_path / "no-jars-yet"),
        "LAKEHOUSE_MAVEN_REPOSITORY": "http://127.0.0.1:9",
    }
    result = _run_cli(["setup"], env)
    assert result.returncode == 2
    assert "first run needs network access to Maven Central" in result.stderr
    assert "Traceback" not in result.stderr


def test_databricks_target_names_the_missing_variables():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "DBT_ENV_SECRET_"))}
    result = _run_cli(["dbt", "build", "--target", "databricks"], env)
    assert result.returncode == 2
    assert "DATABRICKS_HOST, DATABRICKS_HTTP_PATH, DBT_ENV_SECRET_DATABRICKS_TOKEN" in result.stderr


def test_the_spark_jvm_maps_the_class_archive_setup_wrote(spark, spark_settings):
    from runtime.class_archive import archive_path

    archive = archive_path(spark_settings.jars_dir)
    if archive.with_suffix(".failed").exists():
        pytest.skip(f"this Java cannot write a class archive (see {archive.with_suffix('.log')})")
    assert archive.is_file(), "no class archive: `lakehouse setup` (run by `make test`) writes it"
    jvm = spark.sparkContext._gateway.proc.pid
    assert str(archive) in Path(f"/proc/{jvm}/maps").read_text()  # mapped, not merely named on the command line


def test_auto_compaction_merges_small_files_and_leaves_a_large_batchs_files(spark, tmp_path):
    """Delta compacts after the first write to a table of each process, however few small files there are: what it
    counts as small decides whether a large batch is written twice (runtime/spark.py)."""
    from pyspark.sql import functions as F

    from runtime.spark import SMALL_FILE_BYTES

    table = str(tmp_path / "table")
    rows = SMALL_FILE_BYTES // 60  # 64 hex characters a row, hardly compressible: files above the bound
    large = spark.range(2 * rows).select(F.sha2(F.col("id").cast("string"), 256).alias("value")).repartition(2)
    large.write.format("delta").save(table)
    spark.range(10).select(F.col("id").cast("string").alias("value")).repartition(2).write.format("delta").mode(
        "append"
    ).save(table)

    history = {row.version: row for row in spark.sql(f"describe history delta.`{table}`").collect()}
    files = spark.read.format("delta").load(table).select("_metadata.file_path", "_metadata.file_size").distinct()
    sizes = [row.file_size for row in files.collect()]
    assert [history[v].operation for v in sorted(history)] == ["WRITE", "WRITE", "OPTIMIZE"]
    assert history[0].operationMetrics["numFiles"] == "2"
    assert history[2].operationMetrics["numRemovedFiles"] == "2"  # the two small files, not the large ones
    assert history[2].operationMetrics["numAddedFiles"] == "1"
    assert len(sizes) == 3 and sum(size > SMALL_FILE_BYTES for size in sizes) == 2
