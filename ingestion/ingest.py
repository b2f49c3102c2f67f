"""Ingest sources into bronze: discover new files, write each batch exactly once, log every file.

A batch is two Delta commits, each safe to repeat:
  1. write    bronze: the batch's rows, as transaction (ingestion:<source>, batch id), the commit's metadata naming
              the batch's files; rows written, rescued and quarantined per file are counted during the write
  2. log      transfer log: one row per file with its outcome and counts, as transaction (log:<source>, batch id)
A run killed between the two finds the batch in bronze's history on its next start (a commit newer than the
log's last batch) and logs it then; a run killed before the first commit left nothing, and its files are simply
still new. Delta refuses a second commit of a batch id, so two runs can never both write one batch. After every
COMPACT_EVERY_BATCHES-th batch, bronze's small files are merged, and the log's after COMPACT_LOG_AFTER_APPENDS
appends (an OPTIMIZE: the rows do not change).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TypeVar
from urllib.parse import unquote

from pyspark.sql import Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingestion.config import COLUMN_NAME, Config, SourceConfig
from ingestion.discovery import FileInfo, Plan, batches, escape_glob, plan_files, select_files
from ingestion.errors import IngestionError, listed
from ingestion.readers import (
    RAW,
    UNKNOWN_KEYS,
    Sniff,
    csv_header,
    gave_up,
    header_problem,
    incoming_columns,
    json_head_keys,
    read_files,
    sniff,
)
from ingestion.storage import Storage
from ingestion.tables import BatchCommit, BronzeTable, SchemaHistory, SourceState, TransferLog

log = logging.getLogger(__name__)
PARALLEL_SOURCES = 4
CONCURRENT_RETRIES = 1000  # a bound only: each lost race is a batch another run committed
COMPACT_EVERY_BATCHES = 50  # a source's bronze small files are merged after every 50th batch
COMPACT_LOG_AFTER_APPENDS = 50  # the transfer log is compacted once this many appends follow its last compaction


class ConcurrentRunError(IngestionError):
    """Another run committed the batch this run was writing."""


class SchemaChangeError(IngestionError):
    """failOnNewColumns met new columns."""


@dataclass
class FileResult:
    file: FileInfo
    batch_id: int | None
    action: str
    status: str  # committed | failed | rewrite_ignored
    records_read: int = 0
    rows_written: int = 0
    rows_rescued: int = 0
    rows_quarantined: int = 0
    error: str | None = None


@dataclass
class SourceResult:
    source: str
    table: str
    files: list[FileResult] = field(default_factory=list)
    new_columns: list[str] = field(default_factory=list)
    rescued_columns: list[str] = field(default_factory=list)  # unknown columns left in _rescued_data
    capped_columns: list[str] = field(default_factory=list)  # new columns over max_new_columns_per_batch
    recovered_batches: list[int] = field(default_factory=list)
    hidden_files: int = 0
    seconds: float = 0.0
    error: str | None = None

    def count(self, status: str) -> int:
        return sum(1 for result in self.files if result.status == status)

    def total(self, attribute: str) -> int:
        return sum(getattr(result, attribute) for result in self.files if result.status == "committed")

    @property
    def bytes(self) -> int:
        return sum(result.file.size for result in self.files if result.status == "committed")

    @property
    def ok(self) -> bool:
        """Everything discovered was ingested: no failure, no rewrite left behind."""
        return self.error is None and not any(r.status in ("failed", "rewrite_ignored") for r in self.files)


R = TypeVar("R")
Progress = Callable[[str, FileResult], None]  # called once per file as its batch finishes


@dataclass(frozen=True)
class SourcePlan:
    """What a run of one source would do now."""

    unlogged: list[BatchCommit]  # batches in bronze that a killed run did not log
    plan: Plan
    hidden: list[str]  # files skipped by the hidden-file rule
    next_batch: int


def _failpoint(name: str) -> None:
    """Crash tests set LAKEHOUSE_FAILPOINT to kill the process (as kill -9 would) at a named step."""
    if os.environ.get("LAKEHOUSE_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


_kill_timer_armed = threading.Event()


def _concurrently(work: Callable, sources: list[SourceConfig]) -> list:
    """`work` on every source, a few at a time, results in the order of `sources`."""
    if len(sources) <= 1:
        return [work(source) for source in sources]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_SOURCES, len(sources)), thread_name_prefix="ingest") as pool:
        return list(pool.map(work, sources))


def _arm_kill_timer() -> None:
    """Crash tests set LAKEHOUSE_KILL_AFTER=<seconds> to SIGKILL the process at an arbitrary moment of a run, counted
    from when it starts writing (once per process): the planning before it only reads."""
    delay = os.environ.get("LAKEHOUSE_KILL_AFTER")
    if delay and not _kill_timer_armed.is_set():
        _kill_timer_armed.set()
        timer = threading.Timer(float(delay), os.kill, (os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _type(name: str) -> T.DataType:
    return T.DataType.fromDDL(name)


@dataclass
class _Batch:
    """One batch on its way through the protocol."""

    source: SourceConfig
    bronze: BronzeTable
    batch_id: int
    action: str
    files: list[FileInfo]
    started_at: datetime = field(default_factory=_now)
    sniffs: dict[str, Sniff] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # uri -> cause
    columns_added: int = 0  # counts against max_new_columns_per_batch
    fast_json: bool = True  # through Spark's JSON data source where it parses alike (readers.read_json)

    @property
    def readable(self) -> list[FileInfo]:
        return [file for file in self.files if file.uri not in self.failed]

    def fail(self, file: FileInfo, cause: str) -> None:
        self.failed[file.uri] = f"source {self.source.name}, file {file.uri}: {cause}"


class Ingestor:
    """Runs ingestion for configured sources on one Spark session, into one bronze schema."""

    def __init__(
        self,
        spark: SparkSession,
        config: Config,
        *,
        bronze_schema: str,
        storage: Storage | None = None,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        before_run: Callable[[int], object] = lambda input_bytes: None,
    ):
        self.spark = spark
        self.config = config
        self.schema_name = bronze_schema
        self.storage = storage or Storage(config.landing.s3_endpoint, config.landing.s3_region)
        self.run_id = uuid.uuid4().hex
        self.progress = progress or (lambda source, result: None)
        self.should_stop = should_stop
        self.before_run = before_run  # told the bytes a run is about to read (the runtime tunes Spark to them)
        self.log = TransferLog(spark, self.schema_name)
        self.history = SchemaHistory(spark, self.schema_name)
        self._states: dict[str, SourceState] = {}
        self._bronzes: dict[str, BronzeTable] = {}
        self._tables_lock = threading.Lock()

    # --- public API ---------------------------------------------------------------------------------------

    def plan(self, source: SourceConfig) -> SourcePlan:
        """What a run of `source` would do now, without writing anything."""
        bronze = self._bronze(source)
        state = self._state([source])[source.name]
        unlogged = bronze.commits(after=state.last_batch) if bronze.exists() else []
        for commit in unlogged:
            state = _with_commit(state, commit)
        listing = self.storage.list_files(source.uri)
        plan = plan_files(listing.files, state.seen, source.allow_overwrites)
        return SourcePlan(unlogged, plan, listing.hidden, state.last_batch + 1)

    def plan_all(self, sources: list[SourceConfig]) -> dict[str, SourcePlan]:
        """`plan()` for every source, from one scan of the transfer log, the sources' listings and bronze histories
        read at the same time."""
        self._state(sources)
        return dict(zip([source.name for source in sources], _concurrently(self.plan, sources), strict=True))

    def run_all(self, sources: list[SourceConfig], plans: dict[str, SourcePlan] | None = None) -> list[SourceResult]:
        """Run every source, at the same time: small sources do not queue behind each other (Spark's FAIR
        scheduler shares the cores between their jobs). Results in the order of `sources`."""
        plans = dict(plans or {})
        unplanned = [source for source in sources if source.name not in plans]
        self._state(unplanned)  # one scan of the transfer log
        found = _concurrently(self._plan_if_possible, unplanned)
        plans.update(zip([source.name for source in unplanned], found, strict=True))
        self.before_run(sum(file.size for plan in plans.values() if plan for file in plan.plan.to_ingest))
        _arm_kill_timer()
        results = _concurrently(lambda source: self.run(source, plans[source.name]), sources)
        if any(result.files for result in results):  # the log grew
            self._housekeeping("the transfer log", self._compact_log)
        return results

    def _compact_log(self) -> None:
        if self.log.appends_since_compaction(COMPACT_LOG_AFTER_APPENDS) >= COMPACT_LOG_AFTER_APPENDS:
            self.log.compact()

    def _plan_if_possible(self, source: SourceConfig) -> SourcePlan | None:
        """`plan()`, or None when it fails: `run()` plans again and reports why on that source's result."""
        try:
            return self.plan(source)
        except IngestionError:
            return None

    def run(self, source: SourceConfig, plan: SourcePlan | None = None) -> SourceResult:
        """Ingest every file of `source` not ingested yet, then stop (like Auto Loader's availableNow). `plan`,
        from `plan()` just before, saves listing the files twice."""
        started = time.monotonic()
        result = SourceResult(source.name, f"{self.schema_name}.{source.table}")
        try:
            bronze = self._bronze(source)
            self._sync_declared_schema(source, bronze)
            for attempt in itertools.count(1):
                try:
                    self._run_batches(source, bronze, plan or self.plan(source), result)
                    break
                except ConcurrentRunError:
                    # Another run (another process or host on the same warehouse) committed the batch this one was
                    # writing: nothing of this one was written, and the other made progress, so planning again from
                    # what is committed now ends once the files run out. A random pause breaks the lockstep.
                    if attempt > CONCURRENT_RETRIES:
                        raise
                    log.info("source %s: another run committed first; planning again", source.name)
                    self._states.pop(source.name, None)
                    plan = None
                    time.sleep(random.uniform(0.1, 1.5))
        except IngestionError as exc:
            result.error = str(exc)
        finally:
            self._states.pop(source.name, None)  # the next run reads the log afresh
        result.seconds = time.monotonic() - started
        return result

    def _run_batches(self, source: SourceConfig, bronze: BronzeTable, plan: SourcePlan, result: SourceResult):
        self._log_unlogged(source, bronze, plan.unlogged, result)
        result.hidden_files = len(plan.hidden)
        self._record_ignored_rewrites(source, plan.plan.ignored_rewrites, result)
        next_id = plan.next_batch
        rewritten = {file.uri for file in plan.plan.rewritten}
        for files in batches(plan.plan.to_ingest, source.max_files_per_batch):
            if self.should_stop():
                break
            action = "overwrite" if any(file.uri in rewritten for file in files) else "ingest"
            self._execute(_Batch(source, bronze, next_id, action, files), result)
            next_id += 1

    def replay(
        self,
        source: SourceConfig,
        *,
        names: list[str] | None = None,
        glob: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> SourceResult:
        """Re-ingest chosen files: their bronze rows are replaced atomically, and the log records a replay."""
        started = time.monotonic()
        result = SourceResult(source.name, f"{self.schema_name}.{source.table}")
        try:
            bronze = self._bronze(source)
            listing = self.storage.list_files(source.uri)
            chosen = select_files(listing.files, names=names, glob=glob, since=since, until=until)
            if not chosen:
                raise IngestionError(f"source {source.name}: no file matches the replay selection")
            if not bronze.exists():
                raise IngestionError(f"source {source.name}: nothing ingested yet, run `lakehouse ingest run` first")
            plan = self.plan(source)
            self._log_unlogged(source, bronze, plan.unlogged, result)
            self.before_run(sum(file.size for file in chosen))
            next_id = plan.next_batch
            for files in batches(chosen, source.max_files_per_batch):
                self._execute(_Batch(source, bronze, next_id, "replay", files), result)
                next_id += 1
        except IngestionError as exc:
            result.error = str(exc)
        finally:
            self._states.pop(source.name, None)
        result.seconds = time.monotonic() - started
        return result

    # --- state --------------------------------------------------------------------------------------------

    def _bronze(self, source: SourceConfig) -> BronzeTable:
        """One BronzeTable per source and Ingestor, so the metastore is asked once whether it exists."""
        with self._tables_lock:
            if source.name not in self._bronzes:
                self._bronzes[source.name] = BronzeTable(self.spark, self.schema_name, source.table, source.name)
            return self._bronzes[source.name]

    def _state(self, sources: list[SourceConfig]) -> dict[str, SourceState]:
        missing = [source.name for source in sources if source.name not in self._states]
        if missing:
            self._states.update(self.log.states(missing))
        return {source.name: self._states[source.name] for source in sources}

    def _log_unlogged(self, source, bronze, commits: list[BatchCommit], result: SourceResult) -> None:
        """Log the batches a killed run committed to bronze but did not log (read back for their counts)."""
        for commit in commits:
            batch = _Batch(source, bronze, commit.batch_id, commit.action, commit.files, commit.started_at)
            batch.failed = dict(commit.failed)
            self._evolve_recovered(batch, result)
            self._finish(batch, bronze.batch_counts(commit.batch_id), result)
            result.recovered_batches.append(commit.batch_id)

    # --- one batch ----------------------------------------------------------------------------------------

    def _execute(self, batch: _Batch, result: SourceResult) -> None:
        """Sniff, check the schema, write, evolve, log: the protocol for one batch."""
        self._sniff(batch)
        if not batch.readable:  # every file failed alone: log them, write nothing
            self._finish(batch, {}, result)
            return
        try:
            schema = self._prepare_schema(batch, result)
        except SchemaChangeError as exc:
            for file in batch.readable:
                batch.failed[file.uri] = str(exc)
            self._finish(batch, {}, result)
            raise
        if not batch.readable:  # every file failed alone while its columns were read
            self._finish(batch, {}, result)
            return
        _failpoint("before-write")
        counts, unknown = self._write(batch, schema)
        _failpoint("after-write")
        if unknown:
            counts = self._evolve_from_rescued(batch, unknown, result) or counts
        _failpoint("before-commit")
        self._finish(batch, counts, result)
        if batch.batch_id % COMPACT_EVERY_BATCHES == 0:
            self._housekeeping(batch.bronze.name, batch.bronze.compact)

    @staticmethod
    def _housekeeping(table: str, compact: Callable[[], object]) -> None:
        """Merge a table's small files, after what they hold is logged. A failure (another run replacing files of
        the table at that moment, say) is logged, and a later turn compacts."""
        try:
            compact()
        except Exception:
            log.warning("compacting %s failed; a later run compacts it", table, exc_info=True)

    def _sniff(self, batch: _Batch) -> None:
        heads = self.storage.heads(batch.files)
        for file in batch.files:
            found = sniff(file, heads[file.uri], batch.source.format)
            batch.sniffs[file.uri] = found
            if found.problem:
                batch.fail(file, found.problem)

    def _write(self, batch: _Batch, schema: T.StructType) -> tuple[dict[str, tuple[int, int, int]], list[str]]:
        """Write the readable files. Returns rows (written, rescued, quarantined) per file and the unknown keys
        found in the rows."""
        written = self._reading(batch, "write", lambda: self._write_once(batch, schema))
        if written is None:
            return {}, []
        counts, total, unknown = written
        if counts is None:
            # A file path Spark spells otherwise, or observed counts that do not add up: the batch is committed,
            # so its rows per file are read back from bronze.
            log.info("source %s, batch %s: rows per file read back", batch.source.name, batch.batch_id)
            counts = batch.bronze.batch_counts(batch.batch_id)
        if _rows(counts) != total:
            raise IngestionError(
                f"source {batch.source.name}, batch {batch.batch_id}: counted {total} rows but per-file counts "
                "do not add up; please report this"
            )
        return counts, unknown

    def _reading(self, batch: _Batch, step: str, action: Callable[[], R]) -> R | None:
        """`action()`, which reads the batch's readable files: a file Spark cannot read (a truncated gzip, say)
        fails alone and `action` runs again on the rest. None once no file is left."""
        while batch.readable:
            try:
                return action()
            except IngestionError:
                raise
            except Exception as exc:
                if batch.fast_json and gave_up(exc):
                    log.info("source %s, batch %s: read again line by line", batch.source.name, batch.batch_id)
                    batch.fast_json = False
                    continue
                culprit = _file_named_in(exc, batch.readable)
                log.warning("source %s, batch %s: %s failed", batch.source.name, batch.batch_id, step, exc_info=True)
                if culprit is None:
                    # Not one file's fault: nothing is settled, every file of the batch is tried again next run.
                    raise IngestionError(
                        f"source {batch.source.name}, batch {batch.batch_id}: {_first_line(exc)} "
                        "(no file was settled; the next run tries them again)"
                    ) from None
                batch.fail(culprit, _first_line(exc))
        return None

    def _write_once(self, batch: _Batch, schema: T.StructType):
        """Write the batch and count its rows in the same pass: (rows per file, or None when the counts observed
        do not hold together; all rows; unknown keys)."""
        files = batch.readable
        data_schema = batch.bronze.data_schema(schema)
        frame = read_files(self.spark, batch.source, files, data_schema, batch.sniffs, fast=batch.fast_json).select(
            "*",
            F.lit(batch.started_at).cast("timestamp").alias("_ingested_at"),
            F.lit(batch.batch_id).cast("bigint").alias("_batch_id"),
        )
        observation = Observation(f"batch_{uuid.uuid4().hex}")
        index = F.create_map(*[item for i, file in enumerate(files) for item in (F.lit(file.uri), F.lit(i))])
        frame = frame.select("*", index[F.col("_source_file")].alias("_file_index"))
        frame = frame.observe(observation, *_batch_metrics(len(files)))
        frame = frame.select(*[f"`{name}`" for name in schema.fieldNames()])  # the table's own column order
        commit = BatchCommit(
            batch.source.name,
            batch.batch_id,
            self.run_id,
            batch.action,
            batch.started_at,
            files,
            batch.failed,
        )
        replace = files if batch.action == "replay" else None
        if not batch.bronze.write(frame, commit, replace=replace, versions=batch.source.allow_overwrites):
            raise ConcurrentRunError(
                f"source {batch.source.name}: batch {batch.batch_id} was committed by another ingestion run "
                "while this one was writing it; nothing was duplicated. Run again to continue."
            )
        metrics = observation.get
        per_file = {key: _per_file(metrics[key]) for key in ("rows", "quarantined", "rescued")}
        counts = None
        if metrics["unmatched"] == 0 and all(
            found is not None and sum(found.values()) == metrics[f"{key}_total"] for key, found in per_file.items()
        ):
            rows, quarantined, rescued = per_file.values()
            counts = {
                file.uri: (rows.get(i, 0) - quarantined.get(i, 0), rescued.get(i, 0), quarantined.get(i, 0))
                for i, file in enumerate(files)
            }
        return counts, metrics["rows_total"], [key for key in metrics["unknown_keys"] if key != RAW]

    def _finish(self, batch: _Batch, counts: dict[str, tuple[int, int, int]], result: SourceResult) -> None:
        """Log each file's outcome (one idempotent append per batch) and report it."""
        finished_at = _now()
        rows, file_results = [], []
        for file in batch.files:
            written, rescued, quarantined = counts.get(file.uri, (0, 0, 0))
            failed = batch.failed.get(file.uri)
            file_result = FileResult(
                file,
                batch.batch_id,
                batch.action,
                "failed" if failed else "committed",
                written + quarantined,
                written,
                rescued,
                quarantined,
                failed,
            )
            file_results.append(file_result)
            rows.append(
                self._log_row(
                    batch.source,
                    file,
                    batch.batch_id,
                    batch.action,
                    file_result.status,
                    started_at=batch.started_at,
                    finished_at=finished_at,
                    records_read=file_result.records_read,
                    rows_written=written,
                    rows_rescued=rescued,
                    rows_quarantined=quarantined,
                    error=failed,
                )
            )
        if all(file.uri in batch.failed for file in batch.files):
            # Nothing in bronze: the batch id stays free for the run that writes it (another run's listing may
            # hold more files), so this append is not the batch's one (log:<source>, batch id) transaction.
            self.log.append(rows)
        else:
            self.log.append(rows, batch.source.name, batch.batch_id)
        for file_result in file_results:
            result.files.append(file_result)
            self.progress(batch.source.name, file_result)

    def _log_row(self, source, file, batch_id, action, status, **values) -> dict:
        return {
            "source": source.name,
            "file_path": file.uri,
            "file_size": file.size,
            "file_modified_at": file.modified_at,
            "batch_id": batch_id,
            "run_id": self.run_id,
            "action": action,
            "status": status,
            **values,
        }

    def _record_ignored_rewrites(self, source, files, result) -> None:
        if not files:
            return
        now = _now()
        note = "file rewritten in place; source does not allow overwrites (allow_overwrites: false)"
        self.log.append(
            [
                self._log_row(
                    source, file, None, "ingest", "rewrite_ignored", started_at=now, finished_at=now, note=note
                )
                for file in files
            ]
        )
        for file in files:
            file_result = FileResult(file, None, "ingest", "rewrite_ignored", error=f"{file.uri}: {note}")
            result.files.append(file_result)
            self.progress(source.name, file_result)

    # --- schema -------------------------------------------------------------------------------------------

    def _sync_declared_schema(self, source: SourceConfig, bronze: BronzeTable) -> None:
        """Create the bronze table from a declared schema, or add columns newly declared in the config."""
        if source.schema is None:
            return
        declared = T.StructType([T.StructField(name, _type(sql_type)) for name, sql_type in source.schema.items()])
        if not bronze.exists():
            bronze.create(declared)
            self.history.record(source.name, bronze.name, "declared", declared.fieldNames(), declared, None)
            return
        current = {f.name.lower(): f.dataType for f in bronze.data_schema().fields}
        for declared_field in declared.fields:
            existing = current.get(declared_field.name.lower())
            if existing is not None and existing != declared_field.dataType:
                raise IngestionError(
                    f"source {source.name}: column {declared_field.name} is declared "
                    f"{declared_field.dataType.simpleString()} but bronze has {existing.simpleString()}; "
                    "changing a type needs a new table"
                )
        added = {f.name: f.dataType for f in declared.fields if f.name.lower() not in current}
        if added:
            bronze.add_columns(added)
            self.history.record(source.name, bronze.name, "declared", list(added), bronze.data_schema(), None)

    def _prepare_schema(self, batch: _Batch, result: SourceResult) -> T.StructType:
        """Before writing: infer the schema of a new undeclared source, refuse or add the columns the files
        announce (CSV headers, Parquet footers, the first lines of JSON files). Returns the table's schema."""
        source, bronze = batch.source, batch.bronze
        if not bronze.exists():
            names = self._capped([], self._incoming_columns(batch), batch, result)
            infer = lambda: self._inferred_schema(source, batch.readable, names)  # noqa: E731
            schema = self._reading(batch, "schema inference", infer)
            if schema is None:  # every file failed alone; _execute logs them
                return T.StructType([])
            bronze.create(schema)
            self.history.record(source.name, bronze.name, "inferred", schema.fieldNames(), schema, batch.batch_id)
            return bronze.schema()
        schema = bronze.ensure_lineage(bronze.schema())
        known = [f.name for f in bronze.data_schema(schema).fields]
        if source.format == "csv" and source.csv.header:
            for file in batch.readable:
                problem = header_problem(csv_header(batch.sniffs[file.uri], source), known)
                if problem:
                    batch.fail(file, problem)
        mode = source.schema_evolution
        if mode == "failOnNewColumns":
            new = [n for n in self._incoming_columns(batch) if n not in known]
            if new:
                files = listed([file.uri for file in batch.readable], 3)
                raise SchemaChangeError(
                    f"source {source.name}: {len(new)} new column(s) {listed(new)} in batch {batch.batch_id} "
                    f"({len(batch.readable)} file(s): {files}); schema_evolution is failOnNewColumns: declare them "
                    "in lakehouse.yml or change the mode"
                )
        if mode == "addNewColumns":
            announced = self._announced_columns(batch)
            new = self._capped(known, [name for name in announced if name not in known], batch, result)
            if new:
                bronze.add_columns({name: T.StringType() for name in new})
                schema = bronze.schema()
                self.history.record(
                    source.name, bronze.name, "added_columns", new, bronze.data_schema(), batch.batch_id
                )
                result.new_columns += [name for name in new if name not in result.new_columns]
        return schema

    def _announced_columns(self, batch: _Batch) -> list[str]:
        source = batch.source
        if source.format == "json":
            return json_head_keys([batch.sniffs[file.uri] for file in batch.readable])
        return self._incoming_columns(batch)

    def _incoming_columns(self, batch: _Batch) -> list[str]:
        """The columns of the batch's readable files (a file that cannot be read fails alone)."""
        read = lambda: incoming_columns(self.spark, batch.source, batch.readable, batch.sniffs)  # noqa: E731
        return self._reading(batch, "reading the columns", read) or []

    @staticmethod
    def _capped(existing: list[str], names: list[str], batch: _Batch, result: SourceResult) -> list[str]:
        """The names that may become columns now: addable ones (`_addable`), up to max_new_columns_per_batch in
        the whole batch; the others stay in _rescued_data and the run says so."""
        addable = _addable(existing, names)
        room = max(0, batch.source.max_new_columns_per_batch - batch.columns_added)
        result.capped_columns += [name for name in addable[room:] if name not in result.capped_columns]
        batch.columns_added += len(addable[:room])
        return addable[:room]

    def _evolve_from_rescued(self, batch: _Batch, unknown: list[str], result: SourceResult):
        """After writing: unknown keys now sit in _rescued_data. addNewColumns turns them into columns (then the
        batch's counts are read back, since rows moved out of _rescued_data)."""
        source, bronze = batch.source, batch.bronze
        known = bronze.data_schema().fieldNames()
        unknown = [key for key in unknown if key not in known]  # exact: "Id" is not "id"
        if not unknown:
            return None
        if source.schema_evolution != "addNewColumns":
            result.rescued_columns += [key for key in unknown if key not in result.rescued_columns]
            return None
        new = self._capped(known, unknown, batch, result)
        left = [key for key in unknown if key not in new and key not in result.capped_columns]
        result.rescued_columns += [key for key in left if key not in result.rescued_columns]
        if not new:
            return None
        bronze.add_columns({name: T.StringType() for name in new})
        _failpoint("after-add-columns")
        bronze.promote(batch.batch_id, new)
        self.history.record(source.name, bronze.name, "added_columns", new, bronze.data_schema(), batch.batch_id)
        result.new_columns += [name for name in new if name not in result.new_columns]
        return bronze.batch_counts(batch.batch_id)

    def _evolve_recovered(self, batch: _Batch, result: SourceResult) -> None:
        """What a run killed after writing a batch left undone of its evolution: keys of its rescued data that
        are string columns now were added by that run and not moved into them yet (a string column takes any
        value, so nothing else of it is rescued); the other unknown keys evolve as after a write."""
        keys = batch.bronze.rescued_keys(batch.batch_id)
        if not keys:
            return
        columns = {field.name: field.dataType for field in batch.bronze.data_schema().fields}
        added = [key for key in keys if columns.get(key) == T.StringType()]
        if added:
            batch.bronze.promote(batch.batch_id, added)
            schema = batch.bronze.data_schema()
            self.history.record(batch.source.name, batch.bronze.name, "added_columns", added, schema, batch.batch_id)
            result.new_columns += [name for name in added if name not in result.new_columns]
        self._evolve_from_rescued(batch, [key for key in keys if key not in columns], result)

    def _inferred_schema(self, source, files, columns) -> T.StructType:
        """Like Auto Loader: columns as strings, unless Parquet or infer_column_types asks for Spark's types."""
        types: dict[str, T.DataType] = {}
        if files and (source.format == "parquet" or source.infer_column_types):
            paths = [escape_glob(file.path) for file in files]
            read = {
                "parquet": lambda: self.spark.read.parquet(*paths),
                "json": lambda: self.spark.read.json(paths),
                "csv": lambda: self.spark.read.csv(paths, header=True, inferSchema=True),
            }[source.format]
            types = {f.name: f.dataType for f in read().schema.fields}
        return T.StructType([T.StructField(name, types.get(name, T.StringType())) for name in columns])


def _batch_metrics(files: int) -> list:
    """What a batch's write observes in the same pass: rows per file and how many of them are quarantined or
    rescued, each also in all (the per-file counts must add up to them), rows no file claims, and the unknown keys
    seen. Per file as a histogram of the file's index (`_per_file`), one aggregate for all files: a count per file
    and metric would evaluate every file's condition on every row (4 s more for 20 files of 9.6 M rows)."""
    # As a double: histogram_numeric returns its points' x in the input's type, and an integer x truncates a merged
    # point's mean (0.9999999999999999 for index 1) to the index below: another file's count.
    index = F.col("_file_index").cast("double")
    bins = F.lit(max(files, 2))  # at least 2: histogram_numeric refuses fewer
    quarantined, rescued = F.col("_corrupt_record").isNotNull(), F.col("_rescued_data").isNotNull()
    return [
        F.count(F.lit(1)).alias("rows_total"),
        F.count_if(quarantined).alias("quarantined_total"),
        F.count_if(rescued).alias("rescued_total"),
        F.count_if(index.isNull()).alias("unmatched"),
        F.histogram_numeric(index, bins).alias("rows"),
        F.histogram_numeric(F.when(quarantined, index), bins).alias("quarantined"),
        F.histogram_numeric(F.when(rescued, index), bins).alias("rescued"),
        F.array_distinct(F.flatten(F.collect_set(UNKNOWN_KEYS))).alias("unknown_keys"),
    ]


def _per_file(histogram) -> dict[int, int] | None:
    """File index -> rows, from `histogram_numeric` over the file indexes with a bin per file. Each task of the
    write counts the indexes it read, and merging the tasks' histograms joins their points: a file read by several
    tasks (a large file is split) has a point per task at its index, until there are more points than bins and
    the closest pair merges, first those at one index (0 apart; two indexes are 1 apart). A merged point's x is a
    weighted mean, a rounding error away from its index. So an index's rows are the sum of its points; None if a
    point lies between indexes (two merged indexes, which a bin per file rules out)."""
    rows: dict[int, int] = {}
    for point in histogram or []:
        index = round(point.x)
        if abs(point.x - index) > 1e-6 or point.y != int(point.y):
            return None
        rows[index] = rows.get(index, 0) + int(point.y)
    return rows


def _rows(counts: dict[str, tuple[int, int, int]]) -> int:
    """All the rows of per-file counts (written, rescued, quarantined): rescued rows are among the written."""
    return sum(written + quarantined for written, _, quarantined in counts.values())


def _with_commit(state: SourceState, commit: BatchCommit) -> SourceState:
    seen = {uri: dict(versions) for uri, versions in state.seen.items()}
    for file in commit.files:
        seen.setdefault(file.uri, {})[(file.size, file.modified_at)] = "committed"
    return SourceState(seen, max(state.last_batch, commit.batch_id))


def _addable(existing: list[str], names: list[str]) -> list[str]:
    """Names that can become new columns: valid identifiers, no lineage prefix, and not equal ignoring case to
    an existing column (Delta column names are case-insensitive). The rest stay in _rescued_data."""
    taken = {name.lower() for name in existing}
    addable = []
    for name in names:
        if COLUMN_NAME.match(name) and not name.startswith("_") and len(name) <= 128 and name.lower() not in taken:
            addable.append(name)
            taken.add(name.lower())
    return addable


def _first_line(exc: BaseException) -> str:
    """The root cause of a Spark/Java error in one line (the last 'Caused by', else the first line)."""
    text = str(exc).strip()
    if "Caused by: " in text:
        text = text[text.rindex("Caused by: ") + len("Caused by: ") :]
    first = text.splitlines()[0] if text else repr(exc)
    return re.sub(r"\s+", " ", first)[:500]


def _file_named_in(exc: BaseException, files: list[FileInfo]) -> FileInfo | None:
    """The file a Spark read error blames ("Encountered error while reading file ..."), if it is one of ours."""
    text = str(exc).replace("file:///", "file:/")
    for file in files:
        if any(form in text for form in (file.uri, file.path, unquote(file.uri))):
            return file
    return None
