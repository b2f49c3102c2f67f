"""A class-data-sharing (AppCDS) archive of the classes Spark, Delta and Hive load, so every JVM starts sooner.

Each `lakehouse` command starts a fresh Spark JVM, and on 2 cores loading and verifying its ~20,000 classes is a
good part of the start. Java's AppCDS maps them from an archive instead: `lakehouse setup` writes it once, by
running a small ingestion and the statements dbt's materializations issue under -XX:ArchiveClassesAtExit, and
every later JVM maps it (`java_options`). An archive belongs to one Java build and one Spark: its name is a digest
of both, so a new JDK or pyspark makes setup write a new one. A JVM that cannot use an archive starts as it would
without it (-Xshare:auto), silently.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

FOLDER = "class-archive"  # under the jar cache


@functools.cache
def _identity() -> str:
    """What an archive is valid for: the java binary, its exact build, and the Spark classes on its class path."""
    import pyspark

    from runtime.spark import java_binary, java_version_text

    return "\n".join([str(Path(java_binary()).resolve()), java_version_text(), pyspark.__version__, pyspark.__file__])


def archive_path(jars_dir: Path) -> Path:
    return jars_dir / FOLDER / f"spark-{hashlib.sha256(_identity().encode()).hexdigest()[:16]}.jsa"


def java_options(jars_dir: Path) -> str:
    """The JVM options that map this machine's archive, or nothing when setup has not written one."""
    path = archive_path(jars_dir)
    if not path.is_file():
        return ""
    return f"-XX:SharedArchiveFile={path} -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off"


def ensure_archive(jars_dir: Path) -> tuple[Path | None, str]:
    """Write the archive for this Java and Spark unless it exists (a training run of about a minute, once).
    Returns the archive, or None and why not: without one every command still works, a few seconds slower."""
    path = archive_path(jars_dir)
    log, failed = path.with_suffix(".log"), path.with_suffix(".failed")
    if path.is_file():
        return path, ""
    if failed.is_file():  # not again on every setup: this Java cannot (e.g. a JDK without its base CDS archive)
        return None, f"training failed before (see {log}; delete {failed} to try again)"
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.iterdir():  # archives of an earlier JDK or Spark
        if not stale.name.startswith(path.stem):
            stale.unlink(missing_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.part")
    with tempfile.TemporaryDirectory(prefix="lakehouse-class-archive-") as home, log.open("w") as out:
        env = {**os.environ, "LAKEHOUSE_HOME": home, "LAKEHOUSE_LANDING_URI": str(Path(home) / "landing")}
        for name in ("LAKEHOUSE_WAREHOUSE_URI", "LAKEHOUSE_S3_ENDPOINT", "SPARK_REMOTE"):
            env.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-m", "runtime.class_archive", str(partial)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        failed.touch()
        return None, f"the training run failed (exit {done.returncode}); its output is in {log}"
    partial.replace(path)  # the JVM has exited: the archive is whole
    return path, ""


def _train(archive: Path) -> None:
    """Load what real runs load: land a small day of every domain, ingest it, run the statements dbt issues."""
    from pyspark import SparkContext

    from generator import DOMAINS
    from ingestion.ingest import Ingestor
    from ingestion.storage import Storage
    from runtime.project import load_config, state_dir
    from runtime.spark import COMPILE_FROM_BYTES, SparkSettings, fit_codegen, get_spark, ingestion_codegen

    config = load_config()
    storage = Storage(None, "us-east-1")
    for domain in DOMAINS.values():
        domain.generate(
            lambda path, data: storage.write(f"{config.landing.uri}/{path}", data), days=range(1), scale=0.05
        )
    settings = SparkSettings(state=state_dir(), java_options=f"-XX:ArchiveClassesAtExit={archive}")
    spark = get_spark(settings)
    ingestor = Ingestor(spark, config, bronze_schema="training_bronze", before_run=ingestion_codegen(spark))
    ingestor.run_all(list(config.sources.values()))
    spark.sql("create schema if not exists training_silver")
    # Small runs interpret their queries, big ones compile them (runtime/spark.py's compiles): load both.
    statements = (
        "create or replace view training_silver.v as select *, row_number() over (partition by source order by "
        "batch_id desc) as n from training_bronze.ingestion_transfer_log",
        "create or replace table training_silver.t using delta as select source, count(*) as files, "
        "max(file_size) as biggest from training_silver.v where n = 1 group by source",
        "merge into training_silver.t as t using (select distinct source, 1 as files, 0 as biggest "
        "from training_silver.v) as s on t.source = s.source "
        "when matched then update set * when not matched then insert *",
        "insert into training_silver.t select 'x', 0, 0",
        "describe table extended training_silver.t",
        "describe history training_silver.t",
        "show table extended in training_silver like '*'",
    )
    for input_bytes in (0, COMPILE_FROM_BYTES["build"]):
        fit_codegen(spark, input_bytes)
        for statement in statements:
            spark.sql(statement).collect()
    spark.stop()
    gateway = SparkContext._gateway
    gateway.proc.stdin.close()  # the JVM exits when its stdin closes, and writes the archive as it exits
    if gateway.proc.wait() != 0:  # a half-written archive must never be renamed into place: it crashes a JVM
        sys.exit("the training JVM did not exit cleanly")


if __name__ == "__main__":
    _train(Path(sys.argv[1]))
