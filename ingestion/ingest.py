"""Ingest sources into bronze: discover new files, claim a batch, write it exactly once, log every file.

A batch is executed in three Delta commits, each safe to repeat:
  1. claim    transfer log: one 'started' row per file   (txnAppId claim:<source>, txnVersion = batch id)
  2. write    bronze: the batch's rows                    (txnAppId ingestion:<source>, txnVersion = batch id)
  3. commit   transfer log: one terminal row per file with its counts
A run killed anywhere finds the claimed-but-unfinished batch on its next start and executes it again with the
same batch id: if step 2 had committed, Delta skips the write; counts are always read back from bronze.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import unquote

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingestion.config import COLUMN_NAME, Config, SourceConfig
from ingestion.discovery import FileInfo, batches, escape_glob, list_files, plan_files, select_files
from ingestion.errors import IngestionError
from ingestion.readers import RAW, incoming_columns, json_head_keys, read_files
from ingestion.tables import BronzeTable, SchemaHistory, TransferLog


class ConcurrentRunError(IngestionError):
    """Another run claimed the batch this run wanted."""


class SchemaChangeError(IngestionError):
    """failOnNewColumns met new columns."""


@dataclass
class FileResult:
    file: FileInfo
    batch_id: int | None
    action: str
    status: str  # committed | failed | rewrite_ignored | planned (dry run)
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
    rescued_columns: list[str] = field(default_factory=list)
    recovered_batches: list[int] = field(default_factory=list)
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


Progress = Callable[[str, FileResult], None]  # called once per file as its batch finishes


def _failpoint(name: str) -> None:
    """Crash tests set LAKEHOUSE_FAILPOINT to kill the process (as kill -9 would) at a named step."""
    if os.environ.get("LAKEHOUSE_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _arm_kill_timer() -> None:
    """Crash tests set LAKEHOUSE_KILL_AFTER=<seconds> to SIGKILL the process at an arbitrary moment of a run."""
    delay = os.environ.get("LAKEHOUSE_KILL_AFTER")
    if delay:
        timer = threading.Timer(float(delay), os.kill, (os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _type(name: str) -> T.DataType:
    return T._parse_datatype_string(name)


class Ingestor:
    """Runs ingestion for configured sources on one Spark session, in one environment."""

    def __init__(
        self,
        spark: SparkSession,
        config: Config,
        *,
        bronze_schema: str,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ):
        self.spark = spark
        self.config = config
        self.schema_name = bronze_schema
        self.run_id = uuid.uuid4().hex
        self.progress = progress or (lambda source, result: None)
        self.should_stop = should_stop
        self.log = TransferLog(spark, self.schema_name)
        self.history = SchemaHistory(spark, self.schema_name)
        _arm_kill_timer()

    # --- public API ---------------------------------------------------------------------------------------

    def plan(self, source: SourceConfig):
        """What a run would do now: (pending batches, plan) without touching any table."""
        events = self.log.events(source.name)
        listing = list_files(self.spark, source.uri)
        return TransferLog.pending(events), plan_files(listing, TransferLog.seen(events), source.allow_overwrites)

    def run(self, source: SourceConfig) -> SourceResult:
        """Ingest every file of `source` not ingested yet, then stop (like Auto Loader's availableNow)."""
        started = time.monotonic()
        result = SourceResult(source.name, f"{self.schema_name}.{source.table}")
        bronze = BronzeTable(self.spark, self.schema_name, source.table, source.name)
        try:
            self._sync_declared_schema(source, bronze)
            events = self.log.events(source.name)
            pending = TransferLog.pending(events)
            for batch_id, (action, files) in sorted(pending.items()):
                result.recovered_batches.append(batch_id)
                self._execute(source, bronze, files, batch_id, action, result, claim=False)
            if pending:
                events = self.log.events(source.name)
            plan = plan_files(list_files(self.spark, source.uri), TransferLog.seen(events), source.allow_overwrites)
            self._record_ignored_rewrites(source, plan.ignored_rewrites, result)
            next_id = TransferLog.next_batch_id(events)
            rewritten = {file.uri for file in plan.rewritten}
            for files in batches(plan.to_ingest, source.max_files_per_batch):
                if self.should_stop():
                    break
                action = "overwrite" if any(file.uri in rewritten for file in files) else "ingest"
                self._execute(source, bronze, files, next_id, action, result, claim=True)
                next_id += 1
        except IngestionError as exc:
            result.error = str(exc)
        result.seconds = time.monotonic() - started
        return result

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
        bronze = BronzeTable(self.spark, self.schema_name, source.table, source.name)
        chosen = select_files(list_files(self.spark, source.uri), names=names, glob=glob, since=since, until=until)
        if not chosen:
            result.error = f"source {source.name}: no file matches the replay selection"
        elif not bronze.exists():
            result.error = f"source {source.name}: nothing ingested yet, run `lakehouse ingest run` first"
        else:
            try:
                next_id = TransferLog.next_batch_id(self.log.events(source.name))
                for files in batches(chosen, source.max_files_per_batch):
                    self._execute(source, bronze, files, next_id, "replay", result, claim=True)
                    next_id += 1
            except IngestionError as exc:
                result.error = str(exc)
        result.seconds = time.monotonic() - started
        return result

    # --- one batch ----------------------------------------------------------------------------------------

    def _execute(self, source, bronze, files, batch_id, action, result, *, claim: bool) -> None:
        started_at = _now()
        if claim:
            self._claim(source, files, batch_id, action, started_at)
        _failpoint("after-claim")
        failed: dict[str, str] = {}
        try:
            new_columns = self._prepare_schema(source, bronze, files, batch_id)
        except SchemaChangeError as exc:
            self._finish(source, files, batch_id, action, started_at, result, {}, {f.uri: str(exc) for f in files})
            raise
        remaining = list(files)
        while True:
            try:
                self._write(source, bronze, remaining, batch_id, action, started_at)
                break
            except (Py4JJavaError, PySparkException) as exc:
                culprit = _file_named_in(exc, remaining)
                if culprit is None:
                    message = f"source {source.name}, batch {batch_id}: {_first_line(exc)}"
                    self._finish(
                        source, files, batch_id, action, started_at, result, {}, {f.uri: message for f in files}
                    )
                    raise IngestionError(message) from None
                failed[culprit.uri] = f"source {source.name}, file {culprit.uri}: {_first_line(exc)}"
                remaining = [file for file in remaining if file is not culprit]
        _failpoint("after-write")
        summary = bronze.batch_summary(batch_id)
        new_columns += self._evolve_from_rescued(source, bronze, batch_id, summary, result)
        result.new_columns += [name for name in new_columns if name not in result.new_columns]
        counts = {uri: (written, rescued, quarantined) for uri, (written, rescued, quarantined, _) in summary.items()}
        _failpoint("before-commit")
        self._finish(source, files, batch_id, action, started_at, result, counts, failed)

    def _claim(self, source, files, batch_id, action, started_at) -> None:
        rows = [
            self._log_row(source, file, batch_id, action, "started", started_at=started_at, finished_at=None)
            for file in files
        ]
        try:
            won = self.log.claim(rows, source.name, batch_id, self.run_id)
        except (Py4JJavaError, PySparkException) as exc:
            if "concurrent" not in str(exc).lower():
                raise
            won = False  # Delta's conflict check: another run committed the same claim first
        if not won:
            raise ConcurrentRunError(
                f"source {source.name}: batch {batch_id} was claimed by another ingestion run, which is running "
                "now; try again when it has finished"
            )

    def _write(self, source, bronze, files, batch_id, action, started_at) -> None:
        frame = read_files(self.spark, source, files, bronze.data_schema()).select(
            "*",
            F.lit(started_at).cast("timestamp").alias("_ingested_at"),
            F.lit(batch_id).cast("bigint").alias("_batch_id"),
        )
        frame = frame.select(*bronze.columns())  # the table's own column order
        replace = [file.uri for file in files] if action == "replay" else None
        bronze.write(frame, batch_id, replace_files=replace)

    def _finish(self, source, files, batch_id, action, started_at, result, counts, failed) -> None:
        finished_at = _now()
        rows, file_results = [], []
        for file in files:
            written, rescued, quarantined = counts.get(file.uri, (0, 0, 0))
            status = "failed" if file.uri in failed else "committed"
            file_result = FileResult(
                file,
                batch_id,
                action,
                status,
                written + quarantined,
                written,
                rescued,
                quarantined,
                failed.get(file.uri),
            )
            file_results.append(file_result)
            rows.append(
                self._log_row(
                    source,
                    file,
                    batch_id,
                    action,
                    status,
                    started_at=started_at,
                    finished_at=finished_at,
                    records_read=written + quarantined,
                    rows_written=written,
                    rows_rescued=rescued,
                    rows_quarantined=quarantined,
                    error=failed.get(file.uri),
                )
            )
        self.log.append(rows)
        for file_result in file_results:
            result.files.append(file_result)
            self.progress(source.name, file_result)

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

    def _prepare_schema(self, source, bronze, files, batch_id) -> list[str]:
        """Before writing: infer the schema of a new undeclared source, check or add columns the files announce.
        Returns the columns added."""
        if not bronze.exists():
            columns = incoming_columns(self.spark, source, files)
            schema = self._inferred_schema(source, files, columns)
            bronze.create(schema)
            self.history.record(source.name, bronze.name, "inferred", schema.fieldNames(), schema, batch_id)
            return []
        mode = source.schema_evolution
        if mode == "failOnNewColumns":
            new = self._new_columns(bronze, incoming_columns(self.spark, source, files))
            if new:
                names = ", ".join(file.uri for file in files)
                raise SchemaChangeError(
                    f"source {source.name}: new column(s) {', '.join(new)} in batch {batch_id} (files: {names}); "
                    "schema_evolution is failOnNewColumns: declare them in lakehouse.yml or change the mode"
                )
        if mode == "addNewColumns":  # cheap: CSV headers, Parquet footers, the first lines of JSON files
            announced = (
                json_head_keys(self.spark, files)
                if source.format == "json"
                else incoming_columns(self.spark, source, files)
            )
            new = _addable(bronze.data_schema().fieldNames(), self._new_columns(bronze, announced))
            if new:
                bronze.add_columns({name: T.StringType() for name in new})
                self.history.record(source.name, bronze.name, "added_columns", new, bronze.data_schema(), batch_id)
            return new
        return []

    def _evolve_from_rescued(self, source, bronze, batch_id, summary, result) -> list[str]:
        """After writing: unknown keys now sit in _rescued_data. addNewColumns turns them into columns."""
        found = list(dict.fromkeys(key for *_, keys in summary.values() for key in keys))
        known = set(bronze.data_schema().fieldNames())
        unknown = [key for key in found if key != RAW and key not in known]  # exact: "Id" is not "id"
        if not unknown:
            return []
        if source.schema_evolution != "addNewColumns":
            result.rescued_columns += [key for key in unknown if key not in result.rescued_columns]
            return []
        new = _addable(bronze.data_schema().fieldNames(), unknown)
        result.rescued_columns += [key for key in unknown if key not in new and key not in result.rescued_columns]
        if new:
            bronze.add_columns({name: T.StringType() for name in new})
            _failpoint("after-add-columns")
            bronze.promote(batch_id, new)
            summary.update(bronze.batch_summary(batch_id))  # rows promoted out of _rescued_data
            self.history.record(source.name, bronze.name, "added_columns", new, bronze.data_schema(), batch_id)
        return new

    @staticmethod
    def _new_columns(bronze, incoming: list[str]) -> list[str]:
        known = set(bronze.data_schema().fieldNames())
        return [name for name in incoming if name not in known]

    def _inferred_schema(self, source, files, columns) -> T.StructType:
        """Like Auto Loader: columns as strings, unless Parquet or infer_column_types asks for Spark's types."""
        types: dict[str, T.DataType] = {}
        if source.format == "parquet" or source.infer_column_types:
            paths = [escape_glob(file.path) for file in files]
            read = {
                "parquet": lambda: self.spark.read.parquet(*paths),
                "json": lambda: self.spark.read.json(paths),
                "csv": lambda: self.spark.read.csv(paths, header=True, inferSchema=True),
            }[source.format]
            types = {f.name: f.dataType for f in read().schema.fields}
        return T.StructType([T.StructField(name, types.get(name, T.StringType())) for name in _addable([], columns)])


def _addable(existing: list[str], names: list[str]) -> list[str]:
    """Names that can become new columns: valid identifiers, no lineage prefix, and not equal ignoring case to
    an existing column (Delta column names are case-insensitive). The rest stay in _rescued_data."""
    taken = {name.lower() for name in existing}
    addable = []
    for name in names:
        if COLUMN_NAME.match(name) and not name.startswith("_") and name.lower() not in taken:
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
