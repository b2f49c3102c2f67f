"""The one place that starts Spark with Delta Lake, for ingestion and for dbt's local target alike.

`spark_conf()` is pure (testable without a JVM); `get_spark()` checks Java, fetches the pinned jars
and starts (or returns) the process-wide session. dbt-spark's `session` method calls
`SparkSession.builder.getOrCreate()`, so running dbt in the same process after `get_spark()` makes
dbt use exactly this session (see runtime/dbt.py).
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from runtime.errors import SetupError
from runtime.jars import ensure_jars
from runtime.project import jar_cache_dir

SUPPORTED_JAVA = (17, 21)
LOG4J = Path(__file__).with_name("log4j2.properties")
FAIR_SCHEDULER = Path(__file__).with_name("fairscheduler.xml")


@dataclass(frozen=True)
class S3Settings:
    """How to reach an S3 or S3-compatible store. Credentials default to the AWS provider chain."""

    endpoint: str | None = None  # e.g. http://127.0.0.1:5000 for an S3-compatible server
    region: str = "us-east-1"
    path_style: bool | None = None  # default: on when an endpoint is given
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)  # temporary credentials (SSO, an assumed role)


@dataclass(frozen=True)
class SparkSettings:
    state: Path  # metastore and warehouse live here
    jars_dir: Path = field(default_factory=jar_cache_dir)
    wait_for_lock: bool = False  # another process holds the state folder: wait (True) or stop (False)
    s3: S3Settings | None = None  # set when any location is s3:// or s3a://
    warehouse: str | None = None  # where Delta tables live (a folder or s3a:// URI); default <state>/warehouse
    cores: int = field(default_factory=lambda: os.cpu_count() or 2)
    driver_memory: str = field(default_factory=lambda: os.environ.get("LAKEHOUSE_DRIVER_MEMORY", "4g"))
    # More driver JVM options: the user's (LAKEHOUSE_JAVA_OPTIONS), and the class archive's (runtime/class_archive.py).
    java_options: str = field(default_factory=lambda: os.environ.get("LAKEHOUSE_JAVA_OPTIONS", "").strip())


SMALL_FILE_BYTES = 8 * 2**20  # a Delta data file under this is small: compaction merges it
# The JIT's code cache, whatever compilers the user picks (LAKEHOUSE_JAVA_OPTIONS): 240 MB is Java's default with
# both compilers, but with the client compiler alone (-XX:TieredStopAtLevel=1) the default is 48 MB, which a dbt
# build fills in about 20 s. The JVM then stops compiling (everything runs interpreted from there) and cannot link
# new method handles: statements failed with java.lang.InternalError (BENCHMARKS.md, JVM start-up).
CODE_CACHE = "240m"


def needs_s3(*uris: str) -> bool:
    return any(uri.startswith(("s3://", "s3a://")) for uri in uris)


def spark_conf(settings: SparkSettings, jars: list[Path]) -> dict[str, str]:
    """Every Spark setting the project uses, sized for a small machine."""
    state = settings.state
    conf = {
        "spark.master": f"local[{settings.cores}]",
        "spark.app.name": "lakehouse",
        "spark.driver.memory": settings.driver_memory,
        "spark.jars": ",".join(str(jar) for jar in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": settings.warehouse or str(state / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={state / 'metastore_db'};create=true",
        # Hive's folder for a session's downloaded resources (empty here); by default a new one in /tmp per process.
        "spark.hadoop.hive.downloaded.resources.dir": str(state / "hive-resources"),
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={state} -Dlog4j.configurationFile={LOG4J} -Dlakehouse.log.dir={log_dir(state)} "
            f"-XX:ReservedCodeCacheSize={CODE_CACHE} {settings.java_options}"
        ).strip(),
        # Hourly batches make small files. Delta's auto compaction merges a table's small files after a write: after
        # the first write to each table (partition) of every process, and then once there are 50. By default a file
        # under 64 MB is small, so a large batch's own files were rewritten right after its write (two thirds of
        # bronze's write, BENCHMARKS.md 2026-12-06). Under 8 MB, the files a large batch writes (one per input
        # split, 10-40 MB) stay as written. Tables get auto compaction as a property when they are created, so that
        # bronze can opt out: each scheduled ingestion is a process of its own, and compacting every bronze table
        # in each took a quarter of an hourly run; ingestion compacts bronze itself, every few batches.
        "spark.databricks.delta.properties.defaults.autoOptimize.autoCompact": "true",
        "spark.databricks.delta.autoCompact.minFileSize": str(SMALL_FILE_BYTES),
        "spark.databricks.delta.optimize.minFileSize": str(SMALL_FILE_BYTES),  # OPTIMIZE: only the small files
        # Concurrent jobs (several sources ingested at once, dbt's threads) share the cores.
        "spark.scheduler.mode": "FAIR",
        "spark.scheduler.allocation.file": str(FAIR_SCHEDULER),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        # A few MB to a few GB on 2 cores: few shuffle partitions, AQE coalesces the rest.
        "spark.sql.shuffle.partitions": str(max(4, 2 * settings.cores)),
        "spark.default.parallelism": str(max(4, 2 * settings.cores)),
        # Rows a statement carries itself (INSERT ... VALUES: dbt seeds, expectation_results; unit-test fixtures)
        # are one task and so one file, not one file per row up to the parallelism: a seed was written as four files
        # that auto compaction then rewrote, one more commit. Files are still split as before (minPartitionNum).
        "spark.sql.leafNodeDefaultParallelism": "1",
        "spark.sql.files.minPartitionNum": str(max(4, 2 * settings.cores)),
        "spark.databricks.delta.snapshotPartitions": str(max(2, settings.cores)),
        "spark.sql.session.timeZone": "UTC",
        # dbt-spark's session method forces this; set it here too so ingestion and dbt agree.
        "spark.sql.ansi.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # Timestamps as 64-bit microseconds rather than the legacy 12-byte INT96, whose Parquet dictionary hashes and
        # compares byte arrays: writing a day of heart-rate readings to bronze took a quarter less time.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # Rescuing unknown JSON keys parses records as maps; a record repeating a key must not fail the batch.
        "spark.sql.mapKeyDedupPolicy": "LAST_WIN",
        # Queries start interpreted: planning a run (transfer log, listings, Delta logs) reads little. Each run then
        # compiles if it reads enough data to pay for compiling (fit_codegen).
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    }
    if settings.s3 is not None:
        conf.update(_s3a_conf(settings.s3))
    return conf


# Spark compiles each query to Java byte code before running it (whole-stage code generation, janino). For
# gigabytes that pays many times over; for the megabytes of a demo, a test or an hourly batch the compiling costs
# more than the work it speeds up. So each run compiles only when it reads at least this much raw data. Measured on
# 2 cores (BENCHMARKS.md, 2026-12-06):
# - a build: the demo's 19 MB built a fifth faster interpreted, the 895 MB reference 2.3x slower;
# - ingestion evaluates many more expressions per row (the JSON reader's checks, per column): hourly batches of a few
#   KB ingested a quarter faster interpreted, the demo's 19 MB took the same time either way, and a hostile 18 MB
#   folder (wide records, 200,000 lines with many unknown keys) took twice as long interpreted.
COMPILE_FROM_BYTES = {"build": 64 * 2**20, "ingestion": 8 * 2**20}
CODEGEN_MODES = ("auto", "on", "off")  # LAKEHOUSE_CODEGEN: by data size (default), always, never
Work = Literal["build", "ingestion"]


def compiles(input_bytes: int, work: Work = "build") -> bool:
    """Whether a run of `work` reading `input_bytes` of raw data should compile its queries (LAKEHOUSE_CODEGEN
    decides, by default from the size)."""
    mode = os.environ.get("LAKEHOUSE_CODEGEN", "auto")
    if mode not in CODEGEN_MODES:
        raise SetupError(f"LAKEHOUSE_CODEGEN={mode!r}: expected one of {', '.join(CODEGEN_MODES)}")
    return input_bytes >= COMPILE_FROM_BYTES[work] if mode == "auto" else mode == "on"


def fit_codegen(spark, input_bytes: int, work: Work = "build") -> bool:
    """Compile or interpret the next queries of `spark` (`compiles`); returns whether they compile. Interpreted
    evaluation is Spark's own fallback for what it cannot compile, so results are the same either way. Left to
    the cluster on Databricks (Photon replaces both)."""
    compile_ = compiles(input_bytes, work)
    if not os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        spark.conf.set("spark.sql.codegen.wholeStage", str(compile_).lower())
        spark.conf.set("spark.sql.codegen.factoryMode", "FALLBACK" if compile_ else "NO_CODEGEN")
    return compile_


def ingestion_codegen(spark) -> Callable[[int], bool]:
    """An Ingestor's `before_run`: fits the session to the bytes the run is about to ingest."""
    return functools.partial(fit_codegen, spark, work="ingestion")


def _s3a_conf(s3: S3Settings) -> dict[str, str]:
    prefix = "spark.hadoop.fs.s3a."
    conf = {
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",  # s3:// behaves as s3a://
        prefix + "endpoint.region": s3.region,
        prefix + "path.style.access": str(s3.path_style if s3.path_style is not None else bool(s3.endpoint)).lower(),
    }
    if s3.endpoint:
        conf[prefix + "endpoint"] = s3.endpoint
        conf[prefix + "connection.ssl.enabled"] = str(s3.endpoint.startswith("https")).lower()
    if s3.access_key and s3.secret_key:
        conf[prefix + "access.key"] = s3.access_key
        conf[prefix + "secret.key"] = s3.secret_key
        if s3.session_token:  # without it, temporary keys are refused (403)
            conf[prefix + "session.token"] = s3.session_token
            conf[prefix + "aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
        else:
            conf[prefix + "aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
    return conf


def log_dir(state: Path) -> Path:
    """Where Spark's own log and the full traces of reported problems go (the console gets one line each)."""
    return state / "logs"


def configure_logging(state: Path) -> Path:
    """Python side of the logging: PySpark's error loggers and this project's loggers write to
    <state>/logs/lakehouse.log, not to the console. Returns the log file."""
    directory = log_dir(state)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "lakehouse.log"
    from pyspark.logger import PySparkLogger

    # PySpark logs every failed statement with its stack as JSON on stderr, the expected ones included (dbt
    # probing for a relation that does not exist yet); its loggers must be PySparkLoggers (they take extra keys).
    loggers = [PySparkLogger.getLogger(name) for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger")]
    loggers += [logging.getLogger(name) for name in ("ingestion", "runtime", "py4j")]
    for logger in loggers:
        for old in [h for h in logger.handlers if not isinstance(h, logging.FileHandler)]:
            logger.removeHandler(old)
        if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
            handler = logging.FileHandler(path, encoding="utf-8")  # PySparkLogger sets its own JSON format
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger("ingestion").setLevel(logging.INFO)
    return path


def java_binary() -> str:
    """The `java` Spark will launch (JAVA_HOME first, then PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home, "bin", "java")) if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise SetupError(
            "Java not found. Spark 4 needs a Java 17 or 21 runtime: install one "
            "(e.g. `apt install openjdk-17-jre-headless`) or point JAVA_HOME at it."
        )
    return java


@functools.cache
def java_version_text() -> str:
    java = java_binary()
    return subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr.strip()


def java_major_version() -> int:
    """Major version of the `java` Spark will launch."""
    out = java_version_text()
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise SetupError(f"could not read the Java version from `{java_binary()} -version`: {out[:200]}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major  # "1.8.0" is Java 8


def check_java() -> None:
    major = java_major_version()
    if major not in SUPPORTED_JAVA:
        raise SetupError(
            f"Java {major} found, but Spark 4 needs Java {' or '.join(map(str, SUPPORTED_JAVA))}. "
            "Install one and point JAVA_HOME at it."
        )


_held_locks: list = []  # open lock files, held for the life of the process


def lock_file(state: Path, wait: bool, holder: str):
    """Take the state folder's lock and return its open file (the lock lives as long as the file is open in this
    process or in a child that inherited it). The embedded Derby metastore admits one process at a time; without
    this lock a second process would fail deep inside Hive with an obscure Derby error."""
    state.mkdir(parents=True, exist_ok=True)
    handle = (state / "lakehouse.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        handle.seek(0)
        current = handle.read().strip() or "unknown"
        handle.close()
        raise SetupError(
            f"another lakehouse process is using {state} ({current}); its metastore admits one process at a time. "
            "Wait for it to finish, pass --wait to queue behind it, or run `lakehouse engine start` so that "
            "every command shares one engine."
        ) from None
    handle.truncate(0)
    handle.write(holder)
    handle.flush()
    return handle


def lock_state(state: Path, wait: bool) -> None:
    """Take the state folder for this process (the kernel releases it when the process ends, even on kill -9)."""
    _held_locks.append(lock_file(state, wait, f"pid {os.getpid()}: {' '.join(sys.argv)[:200]}"))


def with_class_archive(settings: SparkSettings) -> SparkSettings:
    """The settings with the JVM mapping the class archive `lakehouse setup` wrote, if there is one (not while
    that JVM writes one)."""
    from runtime.class_archive import java_options

    if "ArchiveClassesAtExit" in settings.java_options:
        return settings
    return replace(
        settings, java_options=" ".join(filter(None, [java_options(settings.jars_dir), settings.java_options]))
    )


def use_utc() -> None:
    """This process's local time zone becomes UTC, Spark's session time zone. PySpark returns a timestamp as a
    naive datetime in the process's zone: on a laptop at UTC+1, 00:00 UTC came back as 01:00, and a macro that put
    it back into SQL (a merge window's start, read as UTC) moved it an hour, duplicating keys in merges."""
    if os.environ.get("TZ") != "UTC":
        os.environ["TZ"] = "UTC"
        time.tzset()


def get_spark(settings: SparkSettings):
    """The Spark session every command uses: the cluster's on Databricks, the engine's when one runs
    (runtime/engine.py), else the process-wide in-process session with Delta (started here, or returned)."""
    from pyspark.sql import SparkSession

    from runtime.engine import running

    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        # On a Databricks cluster (the bundle's wheel task): the cluster's session, with its Delta, Unity Catalog
        # and storage, is the one to use; no local Java check, jars, lock or metastore.
        return SparkSession.builder.getOrCreate()
    use_utc()
    engine = running(settings.state)
    if engine is not None:
        # dbt-spark's session method calls SparkSession.builder.enableHiveSupport().getOrCreate(): SPARK_REMOTE
        # sends it to the engine, which has Hive support already (a static setting a client cannot set: PySpark
        # warns on every statement that it tried).
        os.environ["SPARK_REMOTE"] = engine.url
        warnings.filterwarnings("ignore", message="Failed to set spark.sql.catalogImplementation", category=UserWarning)
        configure_logging(settings.state)
        return SparkSession.builder.remote(engine.url).getOrCreate()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    check_java()
    lock_state(settings.state, settings.wait_for_lock)
    features = {"delta", "s3"} if settings.s3 is not None else {"delta"}
    jars = ensure_jars(features, settings.jars_dir)
    settings = with_class_archive(settings)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # also silences the hostname warning
    builder = SparkSession.builder
    for key, value in spark_conf(settings, jars).items():
        builder = builder.config(key, value)
    configure_logging(settings.state)
    spark = builder.enableHiveSupport().getOrCreate()
    return spark
