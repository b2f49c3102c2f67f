"""The `lakehouse` command as users run it: separate processes, each starting its own Spark, against a local
folder and against the S3 server; plus stream shutdown, the state lock, and kill -9 at any moment."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import S3_CREDENTIALS, free_port
from pyspark.sql import functions as F

from ingestion.readers import HEAD_LINES

pytestmark = pytest.mark.integration
LAKEHOUSE = [sys.executable, "-m", "runtime.cli"]
SCHEMA = {"id": "bigint", "name": "string"}


class Project:
    """A user's set-up: its own state folder (own metastore), a sources file and a landing folder."""

    def __init__(self, root: Path, sources: dict, landing_uri: str | None = None, extra_env: dict | None = None):
        self.state = root / "state"
        self.landing = root / "landing"
        self.landing.mkdir(parents=True)
        self.config = root / "lakehouse.yml"
        self.config.write_text(
            yaml.safe_dump({"landing": {"uri": landing_uri or str(self.landing)}, "sources": sources})
        )
        self.env = {
            **os.environ,
            "LAKEHOUSE_HOME": str(self.state),
            "LAKEHOUSE_CONFIG": str(self.config),
            # Short runs, configured as README advises for them: no optimizing JIT compiler (each run is a new JVM).
            "LAKEHOUSE_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1",
        }
        self.env.update(extra_env or {})

    def lakehouse(self, *args, timeout=600, **env) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*LAKEHOUSE, *args], env={**self.env, **env}, capture_output=True, text=True, timeout=timeout
        )

    def start(self, *args, **env) -> subprocess.Popen:
        return subprocess.Popen(
            [*LAKEHOUSE, *args], env={**self.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def write(self, relative: str, content: str | bytes) -> None:
        path = self.landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)

    def delta(self, spark, table: str):
        """Read this project's table by path: its metastore belongs to the subprocess, not to this one."""
        return spark.read.format("delta").load(str(self.state / "warehouse" / "test_bronze.db" / table))


def _lines(start: int, count: int, **extra) -> str:
    return "".join(json.dumps({"id": i, "name": f"n{i}", **extra}) + "\n" for i in range(start, start + count))


def test_run_dry_run_summary_and_exit_status(tmp_path, spark):
    project = Project(tmp_path, {"events": {"path": "events", "format": "json", "schema": SCHEMA}})
    project.write("events/a.json", _lines(0, 5))
    project.write("events/b.json", _lines(5, 5) + '{"id": 10, "na\n')

    dry = project.lakehouse("ingest", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "a.json" in dry.stdout and "b.json" in dry.stdout and "nothing is written" in dry.stdout
    assert not (project.state / "warehouse" / "test_bronze.db" / "events").exists()

    run = project.lakehouse("ingest", "run")
    assert run.returncode == 0, run.stderr
    assert "ingestion summary" in run.stdout and "events" in run.stdout
    assert project.delta(spark, "events").count() == 11

    whole = gzip.compress(_lines(20, 500).encode())
    project.write("events/c.json.gz", whole[:200])
    failed = project.lakehouse("ingest", "run")
    assert failed.returncode == 1
    assert "not ingested: events: source events, file" in failed.stderr and "c.json.gz" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_cli_against_the_s3_server(tmp_path, spark, s3_server, unique):
    bucket = f"cli-{unique}"
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="raw/events/day=1/a.json", Body=_lines(0, 7).encode())
    client.put_object(Bucket=bucket, Key="raw/events/day=2/b.json.gz", Body=gzip.compress(_lines(7, 3).encode()))
    project = Project(
        tmp_path,
        {"events": {"path": "events", "format": "json", "schema": SCHEMA}},
        landing_uri=f"s3://{bucket}/raw",
        extra_env={**S3_CREDENTIALS, "LAKEHOUSE_S3_ENDPOINT": s3_server.endpoint},
    )

    run = project.lakehouse("ingest", "run")

    assert run.returncode == 0, run.stderr
    bronze = project.delta(spark, "events")
    assert bronze.count() == 10
    assert {r._source_file for r in bronze.select("_source_file").distinct().collect()} == {
        f"s3a://{bucket}/raw/events/day=1/a.json",
        f"s3a://{bucket}/raw/events/day=2/b.json.gz",
    }
    assert "testing" not in run.stdout + run.stderr  # credentials never printed


def test_second_process_on_the_same_state_gets_a_clear_message(tmp_path):
    project = Project(tmp_path, {"events": {"path": "events", "format": "json", "schema": SCHEMA}})
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from runtime.spark import lock_state; "
            "from pathlib import Path; lock_state(Path(sys.argv[1]), False); print('held', flush=True); time.sleep(60)",
            str(project.state),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        second = project.lakehouse("ingest", "run")
        assert second.returncode == 2
        assert "another lakehouse process is using" in second.stderr and "--wait" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        holder.kill()
        holder.wait()


def test_stream_polls_and_finishes_cleanly_on_sigterm(tmp_path, spark):
    project = Project(tmp_path, {"events": {"path": "events", "format": "json", "schema": SCHEMA}})
    project.write("events/a.json", _lines(0, 4))
    stream = project.start("ingest", "stream", "--interval", "1")
    try:
        _wait_for(lambda: _bronze_count(project, spark) == 4, stream, "first file")
        project.write("events/b.json", _lines(4, 6))
        _wait_for(lambda: _bronze_count(project, spark) == 10, stream, "second file")
    finally:
        stream.send_signal(signal.SIGTERM)
        _, err = stream.communicate(timeout=120)
    assert stream.returncode == 0, err
    log = spark.read.format("delta").load(str(project.state / "warehouse/test_bronze.db/ingestion_transfer_log"))
    assert log.where(F.col("status") == "committed").count() == 2


def _bronze_count(project, spark) -> int:
    path = project.state / "warehouse" / "test_bronze.db" / "events" / "_delta_log"
    return project.delta(spark, "events").count() if path.exists() else 0


def _wait_for(condition, process, what, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"stream exited before {what}: {process.communicate()[1][-2000:]}")
        try:
            if condition():
                return
        except Exception:  # a table being created between two reads
            pass
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


class CrashLoop:
    """One lakehouse whose `ingest run`s are killed with SIGKILL, at named steps and at random moments, while new
    files keep arriving; then one clean run. Counts what each file holds, to check bronze against."""

    def __init__(self, root: Path, seed: int):
        self.project = Project(
            root,
            {
                "events": {"path": "events", "format": "json", "schema": SCHEMA, "max_files_per_batch": 2},
                "rows": {"path": "rows", "format": "csv", "schema": SCHEMA, "max_files_per_batch": 3},
            },
        )
        self.rng = random.Random(seed)
        self.expected: dict[str, int] = {}
        self.failures: list[str] = []
        self.next_id = 0

    def land(self, count: int) -> None:
        for _ in range(count):
            n = self.rng.randint(1, 40)
            name = f"f{self.next_id:05d}"
            first = self.next_id * 1000
            events = _lines(first, n)
            if self.next_id % 7 == 3:  # now and then a new column appears, after the lines a run reads first: bronze
                # gets it once the batch is written (the step `after-add-columns`)
                events = _lines(first, HEAD_LINES) + _lines(first + HEAD_LINES, n, quality=0.5)
                n += HEAD_LINES
            self.project.write(f"events/{name}.json", events)
            self.project.write(f"rows/{name}.csv", "id,name\n" + "".join(f"{first + i},r\n" for i in range(n)))
            self.expected[f"{name}.json"] = self.expected[f"{name}.csv"] = n
            self.next_id += 1

    def run(self, failpoints: list[str], random_kills: int) -> None:
        try:
            self._crash(failpoints, random_kills)
        except Exception as exc:  # a thread's exception would not fail the test: check() reports it
            self.failures.append(repr(exc))

    def _crash(self, failpoints: list[str], random_kills: int) -> None:
        self.land(8)
        for failpoint in failpoints + [None] * random_kills:
            # Two JVMs share the cores: the random moment is drawn from the first 6 s of a run's writing.
            kill = {"LAKEHOUSE_FAILPOINT": failpoint} if failpoint else {}
            if not failpoint:
                kill["LAKEHOUSE_KILL_AFTER"] = f"{self.rng.uniform(0, 6):.2f}"
            run = self.project.lakehouse("ingest", "run", **kill)
            allowed = (-signal.SIGKILL,) if failpoint else (0, -signal.SIGKILL)  # a named step is always reached
            if run.returncode not in allowed:
                self.failures.append(f"{kill}: exit {run.returncode}: {run.stderr[-3000:]}")
            self.land(self.rng.randint(0, 2))
        final = self.project.lakehouse("ingest", "run")
        if final.returncode != 0:
            self.failures.append(final.stderr[-3000:])

    def check(self, spark) -> None:
        assert not self.failures, self.failures
        for table in ("events", "rows"):
            bronze = self.project.delta(spark, table)
            per_file = {
                r.f.rsplit("/", 1)[-1]: (r.rows, r.ids)
                for r in bronze.groupBy(F.col("_source_file").alias("f"))
                .agg(F.count("*").alias("rows"), F.countDistinct("id").alias("ids"))
                .collect()
            }
            suffix = ".json" if table == "events" else ".csv"
            want = {name: (n, n) for name, n in self.expected.items() if name.endswith(suffix)}
            assert per_file == want  # zero lost, zero duplicated, file by file
        log = spark.read.format("delta").load(
            str(self.project.state / "warehouse/test_bronze.db/ingestion_transfer_log")
        )
        committed = (
            log.where(F.col("status") == "committed").groupBy("file_path").agg(F.countDistinct("batch_id").alias("b"))
        )
        assert committed.count() == len(self.expected) and committed.where("b > 1").count() == 0


@pytest.mark.slow
def test_kill_9_at_any_moment_loses_and_duplicates_nothing(tmp_path, spark):
    """20 runs killed with SIGKILL, 4 at the exact steps between commits and 16 at random moments of their writing
    (logging a killed run's batch, bronze writes, log appends; counted from the end of the read-only planning),
    while new files keep arriving; then one clean run. Every file's rows must be in bronze exactly once. Two
    lakehouses of 10 kills each crash side by side: a starting JVM leaves a third of two cores idle."""
    loops = [CrashLoop(tmp_path / f"lake-{i}", seed=20261123 + i) for i in range(2)]
    steps = [["before-write", "after-add-columns"], ["after-write", "before-commit"]]
    threads = [
        threading.Thread(target=loop.run, args=(failpoints, 8), daemon=True)
        for loop, failpoints in zip(loops, steps, strict=True)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 1800
    for thread in threads:
        thread.join(timeout=max(0, deadline - time.monotonic()))
        assert not thread.is_alive(), "the crash loops did not finish in 30 minutes"
    for loop in loops:
        loop.check(spark)


def test_unreadable_inputs_give_one_line_each_and_a_clean_exit(tmp_path, spark):
    """No Java stack trace on the console: one line per failed file, the full error in the log it names."""
    project = Project(tmp_path, {"events": {"path": "events", "format": "json", "schema": SCHEMA}})
    project.write("events/ok.json", _lines(0, 3))
    project.write("events/fake.json.gz", _lines(3, 3))  # not gzip at all
    project.write("events/cut.json.gz", gzip.compress(_lines(0, 2000).encode())[:300])  # truncated gzip

    run = project.lakehouse("ingest", "run")

    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert "not ingested: events: source events, file" in run.stderr
    assert "fake.json.gz" in run.stderr and "cut.json.gz" in run.stderr
    for noise in ("Traceback", "\tat ", "Exception in thread", "terminate called", '"level": "ERROR"'):
        assert noise not in run.stderr, run.stderr[-3000:]
    assert len(errors) <= 12, run.stderr  # a progress bar, two problem lines and the log's name
    assert "full errors in" in run.stderr and (project.state / "logs" / "spark.log").exists()
    assert project.delta(spark, "events").count() == 3


def test_an_unreachable_s3_endpoint_is_one_line(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    project = Project(
        tmp_path,
        {"events": {"path": "events", "format": "json", "schema": SCHEMA}},
        landing_uri="s3://nowhere/raw",
        extra_env={**S3_CREDENTIALS, "LAKEHOUSE_S3_ENDPOINT": closed},
    )

    started = time.monotonic()
    run = project.lakehouse("ingest", "run", timeout=300)

    assert run.returncode != 0
    assert "cannot list s3a://nowhere/raw/events" in run.stderr
    assert "Traceback" not in run.stderr and "\tat " not in run.stderr
    assert time.monotonic() - started < 120


def test_generate_lands_one_batch_of_a_day(tmp_path):
    project = Project(tmp_path, {"events": {"path": "events", "format": "json", "schema": SCHEMA}})
    batch = ("--days", "1", "--scale", "0.05", "--batches-per-day", "4", "--batch", "1")
    refused = project.lakehouse("generate", *batch)  # every domain, and orders lands whole days only
    assert refused.returncode != 0 and "the orders domain lands whole days only" in refused.stderr
    assert not project.landing.exists() or not any(project.landing.rglob("*.json"))
    run = project.lakehouse("generate", "--domain", "fitness", *batch)
    assert run.returncode == 0, run.stderr
    assert "wrote fitness: batch 1 of days 0-0" in run.stderr
    manifests = [p.name for p in (project.landing / "_manifest").rglob("*") if p.is_file()]
    assert len(manifests) == 1 and manifests[0].endswith(".json")
    data = [p for p in project.landing.rglob("*") if p.is_file() and "_manifest" not in p.parts]
    assert data and {p.relative_to(project.landing).parts[0] for p in data} <= {
        "heart_rate", "workouts", "gym_logins", "user_profile_cdc", "device_registry"
    }  # fmt: skip


def test_two_hosts_on_one_warehouse_neither_duplicate_nor_steal_nor_fail(tmp_path, spark):
    """Two runs with their own state folders (own metastore, as on two hosts) ingest one landing zone into one
    warehouse at the same moment: each file lands exactly once, no false failure, both exit 0."""
    warehouse = tmp_path / "shared-warehouse"
    sources = {"events": {"path": "events", "format": "json", "schema": SCHEMA, "max_files_per_batch": 3}}
    hosts = [Project(tmp_path / f"host-{i}", sources) for i in range(2)]
    for host in hosts[1:]:
        host.landing = hosts[0].landing
        host.config.write_text(hosts[0].config.read_text())
    for i in range(15):
        hosts[0].write(f"events/part-{i:02d}.json", _lines(i * 10, 10))
    env = {"LAKEHOUSE_WAREHOUSE_URI": str(warehouse)}
    runs = [host.start("ingest", "run", **env) for host in hosts]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out[-2000:] + err[-2000:]
        assert "Traceback" not in err

    bronze = spark.read.format("delta").load(str(warehouse / "test_bronze.db" / "events"))
    assert bronze.count() == 150
    assert bronze.select("id").distinct().count() == 150
    log = spark.read.format("delta").load(str(warehouse / "test_bronze.db" / "ingestion_transfer_log"))
    assert log.where(F.col("status") != "committed").count() == 0
    per_file = log.groupBy("file_path").agg(F.count("*").alias("events"), F.sum("rows_written").alias("rows"))
    assert per_file.count() == 15
    assert per_file.where((F.col("events") != 1) | (F.col("rows") != 10)).count() == 0
