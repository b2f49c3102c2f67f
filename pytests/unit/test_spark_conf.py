import os
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.errors import SetupError
from runtime.spark import COMPILE_FROM_BYTES, S3Settings, SparkSettings, compiles, needs_s3, spark_conf


def test_local_conf_is_sized_for_the_machine_and_keeps_state_in_one_folder(tmp_path):
    conf = spark_conf(SparkSettings(state=tmp_path, cores=2, driver_memory="2g"), [Path("/j/a.jar"), Path("/j/b.jar")])
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.sql.shuffle.partitions"] == "4"
    # Literal rows (INSERT ... VALUES) are one task, one file; files are split for as many tasks as before.
    assert conf["spark.sql.leafNodeDefaultParallelism"] == "1"
    assert conf["spark.sql.files.minPartitionNum"] == conf["spark.default.parallelism"] == "4"
    assert conf["spark.driver.memory"] == "2g"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.jars"] == "/j/a.jar,/j/b.jar"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path / "warehouse")
    assert str(tmp_path / "metastore_db") in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]
    assert conf["spark.hadoop.hive.downloaded.resources.dir"].startswith(str(tmp_path))  # not in /tmp
    assert not any(key.startswith("spark.hadoop.fs.s3a") for key in conf)


def test_s3_compatible_endpoint_turns_on_path_style_and_plain_http(tmp_path):
    s3 = S3Settings(endpoint="http://127.0.0.1:9000", access_key="k", secret_key="s")
    conf = spark_conf(SparkSettings(state=tmp_path, s3=s3), [])
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"].endswith("SimpleAWSCredentialsProvider")


def test_real_s3_keeps_virtual_host_style_and_the_default_credential_chain(tmp_path):
    conf = spark_conf(SparkSettings(state=tmp_path, s3=S3Settings(region="eu-west-1")), [])
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "false"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "eu-west-1"
    assert "spark.hadoop.fs.s3a.endpoint" not in conf
    assert "spark.hadoop.fs.s3a.aws.credentials.provider" not in conf


def test_temporary_credentials_pass_their_session_token(tmp_path):
    s3 = S3Settings(access_key="ASIA", secret_key="s", session_token="token")
    conf = spark_conf(SparkSettings(state=tmp_path, s3=s3), [])
    assert conf["spark.hadoop.fs.s3a.session.token"] == "token"
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"].endswith("TemporaryAWSCredentialsProvider")


def test_s3_settings_never_print_credentials():
    printed = repr(S3Settings(access_key="AKIA", secret_key="topsecret", session_token="tokentoken"))
    assert "topsecret" not in printed and "tokentoken" not in printed


def test_needs_s3():
    assert needs_s3("s3://bucket/landing")
    assert needs_s3("/tmp/x", "s3a://bucket/x")
    assert not needs_s3("/tmp/landing", "file:///tmp/landing")


def test_the_engine_is_the_same_spark_as_a_connect_server_and_keeps_keys_off_its_command_line(tmp_path):
    from runtime.engine import CONNECT_SERVER, server_command

    s3 = S3Settings(endpoint="http://127.0.0.1:9000", access_key="AKIA", secret_key="topsecret", session_token="tok3n")
    settings = SparkSettings(state=tmp_path, s3=s3, warehouse="s3a://lake/warehouse", cores=2)
    command = server_command(settings, [Path("/j/a.jar")], "spark://127.0.0.1:7077", 15010, "127.0.0.1")
    assert command[0].endswith("bin/spark-submit") and command[1:3] == ["--class", CONNECT_SERVER]
    conf = dict(item.split("=", 1) for item in command[4::2])
    assert command[3::2] == ["--conf"] * len(conf)
    assert conf["spark.master"] == "spark://127.0.0.1:7077"
    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert conf["spark.connect.grpc.binding.port"] == "15010"
    assert conf["spark.sql.warehouse.dir"] == "s3a://lake/warehouse"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    in_process = spark_conf(settings, [Path("/j/a.jar")])
    same = {key for key in in_process if key not in ("spark.master", "spark.app.name") and "credentials" not in key}
    same -= {f"spark.hadoop.fs.s3a.{key}" for key in ("access.key", "secret.key", "session.token")}
    assert {key: conf[key] for key in same} == {key: in_process[key] for key in same}
    assert not any(secret in " ".join(command) for secret in ("topsecret", "AKIA", "tok3n"))


def test_the_driver_maps_the_class_archive_unless_it_writes_one(tmp_path):
    from runtime.class_archive import archive_path
    from runtime.spark import with_class_archive

    settings = SparkSettings(state=tmp_path, jars_dir=tmp_path / "jars")
    assert with_class_archive(settings).java_options == ""  # setup has not written one: nothing to map
    archive = archive_path(settings.jars_dir)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"")
    options = spark_conf(with_class_archive(settings), [])["spark.driver.extraJavaOptions"]
    assert f"-XX:SharedArchiveFile={archive} -Xshare:auto" in options
    writing = replace(settings, java_options="-XX:ArchiveClassesAtExit=/tmp/x.jsa")
    assert with_class_archive(writing) == writing


def test_queries_compile_only_when_the_data_pays_for_it(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_CODEGEN", raising=False)
    build, ingestion = COMPILE_FROM_BYTES["build"], COMPILE_FROM_BYTES["ingestion"]
    assert not compiles(0)
    assert not compiles(build - 1)  # a demo, a test, an hourly batch: interpreted
    assert compiles(build)  # a backfill or a full refresh: compiled
    assert ingestion < build  # ingestion evaluates more per row, so it compiles sooner
    assert not compiles(ingestion - 1, "ingestion")
    assert compiles(ingestion, "ingestion")
    assert not compiles(ingestion, "build")
    monkeypatch.setenv("LAKEHOUSE_CODEGEN", "on")
    assert compiles(0)
    assert compiles(0, "ingestion")
    monkeypatch.setenv("LAKEHOUSE_CODEGEN", "off")
    assert not compiles(10 * build)
    assert not compiles(10 * build, "ingestion")
    monkeypatch.setenv("LAKEHOUSE_CODEGEN", "yes")
    with pytest.raises(SetupError, match="LAKEHOUSE_CODEGEN='yes': expected one of auto, on, off"):
        compiles(0)


def test_the_users_java_options_reach_the_driver_beside_the_class_archive(tmp_path, monkeypatch):
    from runtime.class_archive import archive_path
    from runtime.spark import with_class_archive

    monkeypatch.setenv("LAKEHOUSE_JAVA_OPTIONS", " -XX:TieredStopAtLevel=1 ")
    settings = SparkSettings(state=tmp_path, jars_dir=tmp_path / "jars")
    archive = archive_path(settings.jars_dir)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"")
    options = spark_conf(with_class_archive(settings), [])["spark.driver.extraJavaOptions"]
    assert f"-XX:SharedArchiveFile={archive} -Xshare:auto" in options and options.endswith(" -XX:TieredStopAtLevel=1")
    # The client JIT alone has a 48 MB code cache by default, which a build fills: the cache is sized for every JIT,
    # before the user's options, so that a user's own -XX:ReservedCodeCacheSize wins.
    assert options.index("-XX:ReservedCodeCacheSize=240m") < options.index("-XX:TieredStopAtLevel=1")


def test_the_process_reads_timestamps_in_utc_like_spark():
    """PySpark turns a timestamp into a naive datetime in the process's time zone, and macros put such values back
    into SQL, which reads them as UTC: the runtime makes the process's zone UTC (here on a host at UTC-5)."""
    import subprocess
    import sys

    code = "import datetime; from runtime.spark import use_utc; use_utc(); print(datetime.datetime.fromtimestamp(0))"
    env = {**os.environ, "TZ": "America/New_York"}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "1970-01-01 00:00:00"
