from pathlib import Path

from runtime.spark import S3Settings, SparkSettings, needs_s3, spark_conf


def test_local_conf_is_sized_for_the_machine_and_keeps_state_in_one_folder(tmp_path):
    conf = spark_conf(SparkSettings(state=tmp_path, cores=2, driver_memory="2g"), [Path("/j/a.jar"), Path("/j/b.jar")])
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.driver.memory"] == "2g"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.jars"] == "/j/a.jar,/j/b.jar"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path / "warehouse")
    assert str(tmp_path / "metastore_db") in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]
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


def test_s3_settings_never_print_credentials():
    assert "topsecret" not in repr(S3Settings(access_key="AKIA", secret_key="topsecret"))


def test_needs_s3():
    assert needs_s3("s3://bucket/landing")
    assert needs_s3("/tmp/x", "s3a://bucket/x")
    assert not needs_s3("/tmp/landing", "file:///tmp/landing")
