"""Integration fixtures: one Spark session for the whole run, configured for a real S3-protocol server (moto's
standalone server on loopback, started before Spark and stopped at the end), and a small harness around the real
ingestion: a landing folder, sources declared like lakehouse.yml, and accessors for bronze and the transfer log."""

from __future__ import annotations

import functools
import gzip
import logging
import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from generator import DOMAINS, generate, local_writer
from ingestion.config import parse_config
from ingestion.ingest import Ingestor, SourceResult
from ingestion.tables import TRANSFER_LOG
from runtime.dbt import build_changed
from runtime.project import PROJECT_ROOT, load_config
from runtime.report import table_names

PIPELINE_SCALE = 0.5
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def copy_project(dest: Path) -> Path:
    """A copy of the dbt project at `dest`, for a test that changes a model without touching the project's own."""
    dest.mkdir()
    for item in ("dbt_project.yml", "selectors.yml", "models", "macros", "seeds", "tests", "analyses"):
        copy = shutil.copytree if (PROJECT_ROOT / item).is_dir() else shutil.copy2
        copy(PROJECT_ROOT / item, dest / item)
    return dest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


AUDIT_LOGS = {"expectation_results"}  # append-only by design: one row per rule per build


def built_tables(spark, schema: str) -> list[str]:
    """The tables (not views) of `schema` whose content a build determines, by name."""
    return [name for name in table_names(spark, schema) if name not in AUDIT_LOGS]


def fingerprints(frames: dict, ignore: tuple[str, ...] = ("_built_at",)) -> dict[str, tuple[int, int | None]]:
    """Name -> (rows, order-independent hash of every row's content) of each frame, leaving out the columns in
    `ignore` (when a build or an ingestion ran). One Spark job for all of them."""
    hashed = [
        frame.select(
            F.lit(name).alias("name"),
            F.xxhash64(F.to_json(F.struct(*[F.col(f"`{c}`") for c in sorted(set(frame.columns) - set(ignore))]))),
        ).toDF("name", "row_hash")
        for name, frame in frames.items()
    ]
    rows = functools.reduce(lambda a, b: a.unionAll(b), hashed).groupBy("name").agg(F.count("*"), F.sum("row_hash"))
    found = {row[0]: (row[1], row[2]) for row in rows.collect()}
    return {name: found.get(name, (0, None)) for name in frames}


@dataclass
class S3Server:
    endpoint: str

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **_boto_credentials())


def _boto_credentials() -> dict:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3 server on 127.0.0.1 (a real HTTP S3 protocol endpoint), for the whole session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = {name: os.environ.get(name) for name in S3_CREDENTIALS}
    os.environ.update(S3_CREDENTIALS)  # the AWS default chain, as users set it
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def spark_settings(state_dir, s3_server):
    from runtime.spark import S3Settings, SparkSettings

    s3 = S3Settings(endpoint=s3_server.endpoint, access_key="testing", secret_key="testing")
    return SparkSettings(state=state_dir, s3=s3)


@pytest.fixture(scope="session")
def spark(spark_settings):
    from runtime.spark import get_spark

    session = get_spark(spark_settings)
    yield session
    session.stop()


class Lake:
    def __init__(self, spark, root: Path, prefix: str, landing_uri: str | None = None, s3_endpoint: str | None = None):
        self.spark = spark
        self.landing = root / "landing"
        self.landing.mkdir(parents=True, exist_ok=True)
        self.landing_uri = landing_uri or self.landing.as_uri()
        self.s3_endpoint = s3_endpoint
        self.prefix = prefix
        self.sources: dict[str, dict] = {}

    def source(self, name: str, **options) -> str:
        """Declare a source (options as in lakehouse.yml; path defaults to the source name)."""
        full = f"{self.prefix}_{name}"
        self.sources[full] = {"path": name, "format": "json", **options}
        return full

    @property
    def config(self):
        return parse_config({"sources": self.sources}, landing_uri=self.landing_uri, s3_endpoint=self.s3_endpoint)

    def write(self, relative: str, data: bytes | str, *, gz: bool = False, mtime: float | None = None) -> Path:
        path = self.landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = data.encode() if isinstance(data, str) else data
        path.write_bytes(gzip.compress(raw) if gz else raw)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def ingestor(self) -> Ingestor:
        return Ingestor(self.spark, self.config, bronze_schema="test_bronze")

    def run(self, name: str) -> SourceResult:
        return self.ingestor().run(self.config.sources[name])

    def replay(self, name: str, **selection) -> SourceResult:
        return self.ingestor().replay(self.config.sources[name], **selection)

    def table(self, name: str) -> str:
        return f"test_bronze.{self.config.sources[name].table}"

    def bronze(self, name: str):
        return self.spark.table(self.table(name))

    def log(self, name: str):
        return self.spark.table(f"test_bronze.{TRANSFER_LOG}").where(F.col("source") == name)

    def committed(self, name: str) -> dict[str, tuple[int, int, int, int]]:
        """File name -> (records read, written, rescued, quarantined) of its latest committed event."""
        rows = self.log(name).where(F.col("status") == "committed").orderBy("batch_id").collect()
        return {
            row.file_path.rsplit("/", 1)[-1]: (
                row.records_read,
                row.rows_written,
                row.rows_rescued,
                row.rows_quarantined,
            )
            for row in rows
        }

    def rows_per_file(self, name: str) -> dict[str, int]:
        rows = self.bronze(name).groupBy("_source_file").count().collect()
        return {row._source_file.rsplit("/", 1)[-1]: row["count"] for row in rows}

    def commits(self, table: str) -> int:
        return self.spark.sql(f"describe history {table}").count()


@pytest.fixture
def lake(spark, tmp_path, unique) -> Lake:
    return Lake(spark, tmp_path, unique)


@dataclass
class Pipeline:
    manifests: list  # the generator's manifest of every fitness batch landed
    landing: Path
    config: object  # the sources, pointed at `landing`
    orders_manifests: list = field(default_factory=list)  # ... of every orders day landed

    def ingest(self, spark) -> list[SourceResult]:
        results = Ingestor(spark, self.config, bronze_schema="test_bronze").run_all(list(self.config.sources.values()))
        assert all(result.ok for result in results), [r.error or r.files for r in results if not r.ok]
        return results


@pytest.fixture(scope="session")
def pipeline(spark, tmp_path_factory) -> Pipeline:
    """The reference pipeline, landed, ingested and built batch after batch as a scheduler would: day 0 whole, day 1
    in four batches (late data crossing them), once two ingestions before one build. Shared by every test that
    needs built silver and gold tables."""
    landing = tmp_path_factory.mktemp("fitness-landing")
    config = load_config()
    config = type(config)(
        landing=config.landing,
        sources={
            name: type(source)(**{**source.__dict__, "uri": f"{landing.as_uri()}/{source.uri.rsplit('/', 1)[-1]}"})
            for name, source in config.sources.items()
        },
    )
    built = Pipeline([], landing, config)

    def land(day: int, orders: range = range(0), **batching) -> None:
        written = generate(local_writer(landing), days=range(day, day + 1), scale=PIPELINE_SCALE, **batching)
        built.manifests.extend(written.batches)
        written = DOMAINS["orders"].generate(local_writer(landing), days=orders, scale=PIPELINE_SCALE)
        built.orders_manifests.extend(written.batches)
        built.ingest(spark)

    def build(after: str) -> None:
        assert build_changed().success, f"dbt build failed after {after}"

    # Orders land whole days beside them: five days first (deliveries, then refunds, take days), then one a batch.
    land(0, orders=range(0, 5))  # a whole day
    build("day 0")
    quarters = {"batches_per_day": 4}  # day 1 in four batches of six hours; late data crosses them
    land(1, **quarters, batches=range(0, 1), orders=range(5, 6))
    build("day 1, batch 0")
    land(1, **quarters, batches=range(1, 2), orders=range(6, 7))
    land(1, **quarters, batches=range(2, 3))  # two ingestions, then one build: the same history as a build after each
    build("day 1, batches 1-2")
    land(1, **quarters, batches=range(3, 4), orders=range(7, 8))
    build("day 1, batch 3")
    return built
