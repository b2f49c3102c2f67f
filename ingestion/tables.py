"""The Delta tables ingestion owns: bronze tables, the transfer log and the schema history.

A batch's bronze commit is the fact that the batch happened: it carries (txnAppId, txnVersion) =
(ingestion:<source>, batch id), so Delta itself refuses a second commit of the same batch, and its commit
metadata names the batch's files, so a run that died before logging the batch can log it later. Transfer-log
appends are idempotent the same way, per source and batch.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from ingestion.config import SCHEMA_HISTORY, TRANSFER_LOG
from ingestion.discovery import FileInfo


def _lineage(name: str, data_type: T.DataType, comment: str) -> T.StructField:
    return T.StructField(name, data_type, metadata={"comment": comment})


LINEAGE_SCHEMA = T.StructType(
    [
        _lineage("_source_file", T.StringType(), "URI of the file the row came from"),
        _lineage("_file_modified_at", T.TimestampType(), "modification time of that file"),
        _lineage("_file_size", T.LongType(), "size of that file in bytes"),
        _lineage("_ingested_at", T.TimestampType(), "when the batch that wrote the row started"),
        _lineage("_batch_id", T.LongType(), "ingestion batch, increasing per source"),
        _lineage("_rescued_data", T.StringType(), "JSON of values that did not fit the schema"),
        _lineage("_corrupt_record", T.StringType(), "raw text of a record that could not be parsed"),
        _lineage("_source_row", T.LongType(), "position of the record in its file (increases with it)"),
    ]
)
# Statistics for data skipping on the lineage columns queries filter on. Never on raw text (_rescued_data,
# _corrupt_record) or string data: Delta's statistics keep a copy of each string column's running maximum,
# which made one 8 MB value cost minutes.
STATS_LINEAGE = ["_source_file", "_file_modified_at", "_ingested_at", "_batch_id", "_source_row"]

LOG_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType()),
        T.StructField("file_path", T.StringType()),
        T.StructField("file_size", T.LongType()),
        T.StructField("file_modified_at", T.TimestampType()),
        T.StructField("batch_id", T.LongType()),
        T.StructField("run_id", T.StringType()),
        T.StructField("action", T.StringType()),  # ingest | overwrite | replay
        T.StructField("status", T.StringType()),  # committed | failed | rewrite_ignored
        T.StructField("records_read", T.LongType()),
        T.StructField("rows_written", T.LongType()),
        T.StructField("rows_rescued", T.LongType()),
        T.StructField("rows_quarantined", T.LongType()),
        T.StructField("started_at", T.TimestampType()),
        T.StructField("finished_at", T.TimestampType()),
        T.StructField("error", T.StringType()),
        T.StructField("note", T.StringType()),
    ]
)

SCHEMA_HISTORY_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType()),
        T.StructField("table_name", T.StringType()),
        T.StructField("version", T.IntegerType()),
        T.StructField("change", T.StringType()),  # declared | inferred | added_columns
        T.StructField("columns", T.ArrayType(T.StringType())),
        T.StructField("schema_ddl", T.StringType()),
        T.StructField("batch_id", T.LongType()),
        T.StructField("recorded_at", T.TimestampType()),
    ]
)
STATUS_RANK = {"started": 0, "failed": 1, "rewrite_ignored": 2, "committed": 3}


def _ddl(schema: T.StructType) -> str:
    columns = []
    for field_ in schema.fields:
        comment = field_.metadata.get("comment")
        suffix = f" comment '{comment}'" if comment else ""
        columns.append(f"`{field_.name}` {field_.dataType.simpleString()}{suffix}")
    return ", ".join(columns)


# Delta's answer when another writer (a thread, a process, another host) committed first: the losing commit wrote
# nothing. Error classes on Delta 4, exception names before.
_CONCURRENT = re.compile(
    r"DELTA_CONCURRENT_\w+|DELTA_PROTOCOL_CHANGED|DELTA_METADATA_CHANGED|DELTA_TABLE_ALREADY_EXISTS"
    r"|Concurrent\w*Exception|ProtocolChangedException|MetadataChangedException|TABLE_OR_VIEW_ALREADY_EXISTS"
)
LOG_APPEND_ATTEMPTS = 20
CREATE_ATTEMPTS = 5
CLAIM_CHECK_DEPTH = 5  # history entries a bronze write looks through for its own commit


def lost_to_another_writer(exc: BaseException) -> bool:
    """The failure is a commit conflict with another writer (nothing of this commit was written)."""
    return bool(_CONCURRENT.search(str(exc)))


def _retrying(action, attempts: int, retryable=lost_to_another_writer, pause_seconds: float = 0.0):
    """Run `action`; while it fails in a way `retryable` accepts, pause (longer each time) and run it again."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as exc:
            if attempt == attempts - 1 or not retryable(exc):
                raise
            time.sleep(pause_seconds * (attempt + 1))
    return None


@dataclass(frozen=True)
class DeltaRef:
    """A Delta table ingestion owns, registered in the metastore (dbt reads it by name). Where the warehouse is a
    folder or bucket Spark writes to, it is read and written by path under the warehouse; on Databricks it is a
    managed table used by name."""

    schema_name: str
    table: str
    path: str | None

    @classmethod
    def of(cls, spark: SparkSession, schema_name: str, table: str) -> DeltaRef:
        if spark.conf.get("spark.databricks.clusterUsageTags.clusterId", None):
            return cls(schema_name, table, None)
        warehouse = spark.conf.get("spark.sql.warehouse.dir").rstrip("/")
        return cls(schema_name, table, f"{warehouse}/{schema_name}.db/{table}")

    @property
    def name(self) -> str:
        return f"`{self.schema_name}`.`{self.table}`"

    @property
    def sql(self) -> str:
        """How SQL statements address the table."""
        return f"delta.`{self.path}`" if self.path else self.name

    def exists(self, spark: SparkSession) -> bool:
        return spark.catalog.tableExists(f"{self.schema_name}.{self.table}")

    def read(self, spark: SparkSession) -> DataFrame:
        return spark.read.format("delta").load(self.path) if self.path else spark.table(self.name)

    def history(self, spark: SparkSession, limit: int) -> DataFrame:
        return spark.sql(f"describe history {self.sql} limit {int(limit)}")

    def compact(self, spark: SparkSession) -> None:
        """Merge the table's small files into larger ones (OPTIMIZE rewrites only files under the session's
        `spark.databricks.delta.optimize.minFileSize`); the rows do not change."""
        spark.sql(f"optimize {self.sql}")

    def save(self, writer) -> None:
        writer.save(self.path) if self.path else writer.saveAsTable(self.name)

    def create(self, spark: SparkSession, schema: T.StructType, properties: dict[str, str] | None = None) -> None:
        """Create the table and register it in the metastore; safe to repeat after a crash half-way."""
        spark.sql(f"create database if not exists `{self.schema_name}`")
        location = f" location '{self.path}'" if self.path else ""
        props = ", ".join(f"'{key}' = '{value}'" for key, value in (properties or {}).items())
        tblproperties = f" tblproperties ({props})" if props else ""
        statement = f"create table if not exists {self.name} ({_ddl(schema)}) using delta{location}{tblproperties}"
        # Another run (another metastore, same location) creating it at the same moment: once its first commit is
        # complete (before that, Delta sees a non-empty location that is not a table), this only registers it here.
        _retrying(
            lambda: spark.sql(statement),
            CREATE_ATTEMPTS,
            lambda exc: "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION" in str(exc) or lost_to_another_writer(exc),
            pause_seconds=0.5,
        )


def rows_frame(spark: SparkSession, rows: list[dict], schema: T.StructType) -> DataFrame:
    """A DataFrame of a few Python rows, in one partition. Sent to Spark as Arrow: a list of rows would start a
    Python worker in the write's task (0.2 s more per append, BENCHMARKS.md)."""
    arrow = to_arrow_schema(schema, timezone="UTC")
    table = pa.Table.from_pylist([{name: row.get(name) for name in schema.fieldNames()} for row in rows], arrow)
    return spark.createDataFrame(table, schema).coalesce(1)


def ensure_table(
    spark: SparkSession, schema_name: str, table: str, schema: T.StructType, properties: dict[str, str] | None = None
) -> DeltaRef:
    ref = DeltaRef.of(spark, schema_name, table)
    if not ref.exists(spark):
        ref.create(spark, schema, properties)
    return ref


# Tables ingestion compacts itself (bronze after every few batches, the transfer log once it has many files): Delta's
# auto compaction, which other tables get when created (runtime/spark.py), would compact them in every run's process.
NOT_AUTO_COMPACTED = {"delta.autoOptimize.autoCompact": "false"}


# --- the transfer log -------------------------------------------------------------------------------------


@dataclass
class SourceState:
    """What the transfer log knows of one source: every file version's most final status, and the last batch."""

    seen: dict[str, dict[tuple[int, datetime], str]] = field(default_factory=dict)
    last_batch: int = 0


class TransferLog:
    """One row per file per batch event (committed, failed, rewrite_ignored); a file's state is its most final
    event. Appends for one source's batch are idempotent (txnAppId log:<source>, txnVersion = batch id)."""

    def __init__(self, spark: SparkSession, schema_name: str):
        self.spark = spark
        self.ref = ensure_table(spark, schema_name, TRANSFER_LOG, LOG_SCHEMA, NOT_AUTO_COMPACTED)
        self._lock = threading.Lock()  # one writer at a time from this process: no self-inflicted conflicts

    def appends_since_compaction(self, limit: int) -> int:
        """The log's commits since it was last compacted or created, counted from its history up to `limit`. Each
        append writes one file, so this is its small files, without the table's state: `describe detail` would
        rebuild that after every append (about 0.4 s a run, the last Delta command of its process)."""
        rows = self.ref.history(self.spark, limit).select("operation").collect()
        since = itertools.takewhile(lambda row: row.operation not in ("OPTIMIZE", "CREATE TABLE"), rows)
        return sum(1 for _ in since)

    def compact(self) -> None:
        with self._lock:
            self.ref.compact(self.spark)

    def states(self, sources: list[str]) -> dict[str, SourceState]:
        """Each source's state, in one scan of the log. Its rows (one per file and event) are folded here, not by a
        grouping query: the groups are hardly fewer than the rows, and the query's shuffle cost more than the scan
        (0.4-0.55 s against 0.2-0.3 s per run on 2 cores, BENCHMARKS.md)."""
        rows = (
            self.ref.read(self.spark)
            .where(F.col("source").isin(sources))
            .select("source", "file_path", "file_size", "file_modified_at", "status", "batch_id")
            .collect()
        )
        states = {source: SourceState() for source in sources}
        for row in rows:
            state = states[row.source]
            state.last_batch = max(state.last_batch, row.batch_id or 0)
            if row.status not in STATUS_RANK:
                continue
            versions = state.seen.setdefault(row.file_path, {})
            version = (row.file_size, _utc(row.file_modified_at))
            known = versions.get(version)
            if known is None or STATUS_RANK[row.status] > STATUS_RANK[known]:
                versions[version] = row.status  # a file version's most final event
        return states

    def append(self, rows: list[dict], source: str | None = None, batch_id: int | None = None) -> None:
        """Append rows; with (source, batch_id) the append happens at most once per source and batch."""
        if not rows:
            return
        writer = rows_frame(self.spark, rows, LOG_SCHEMA).write.format("delta").mode("append")
        if source is not None and batch_id is not None:
            writer = writer.option("txnAppId", f"log:{source}").option("txnVersion", batch_id)
        # Another run logging a batch of this source at the same moment (same txnAppId) makes this append fail.
        # Appending again is exact: Delta skips it if that was this very batch (a run logs an earlier batch before it
        # writes a later one, so a later batch id is never logged first).
        with self._lock:
            _retrying(lambda: self.ref.save(writer), LOG_APPEND_ATTEMPTS)


def _utc(value: datetime) -> datetime:
    """PySpark returns timestamps as naive local times; make them comparable with listing times."""
    return value.astimezone(timezone.utc)


# --- bronze -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchCommit:
    """What a bronze commit says about its batch (its commit metadata)."""

    source: str
    batch_id: int
    run_id: str
    action: str
    started_at: datetime
    files: list[FileInfo]  # the files written
    failed: dict[str, str]  # uri -> cause, files of the batch that failed alone

    def to_json(self) -> str:
        return json.dumps(
            {
                "ingestion": {
                    "source": self.source,
                    "batch": self.batch_id,
                    "run": self.run_id,
                    "action": self.action,
                    "started_at": self.started_at.isoformat(),
                    "files": [[f.uri, f.size, _millis(f.modified_at), f.path] for f in self.files],
                    "failed": self.failed,
                }
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> BatchCommit | None:
        try:
            body = json.loads(text or "")["ingestion"]
        except (ValueError, KeyError, TypeError):
            return None
        files = [
            FileInfo(datetime.fromtimestamp(mtime / 1000, tz=timezone.utc), uri, size, path)
            for uri, size, mtime, path in body["files"]
        ]
        return cls(
            body["source"],
            body["batch"],
            body["run"],
            body["action"],
            datetime.fromisoformat(body["started_at"]),
            files,
            body["failed"],
        )


def _stats_columns(data_schema: T.StructType) -> str:
    """Data skipping on the lineage columns and on data columns that are not text (see STATS_LINEAGE)."""
    texts = (T.StringType, T.StructType, T.ArrayType, T.MapType, T.BinaryType, T.VariantType)
    data = [f.name for f in data_schema.fields if not isinstance(f.dataType, texts)]
    return ",".join([*data, *STATS_LINEAGE])


def _millis(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def _rows_of(files: list[FileInfo], versions: bool) -> str:
    """The predicate of these files' rows in bronze: every row read from their paths, or with `versions` only the
    rows of each file's listed version (size and modification time), the other versions' rows being history."""

    def quoted(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    if not versions:
        return f"_source_file in ({', '.join(quoted(file.uri) for file in files)})"
    return " or ".join(
        f"(_source_file = {quoted(file.uri)} and _file_size = {int(file.size)} "
        f"and _file_modified_at = timestamp_millis({_millis(file.modified_at)}))"
        for file in files
    )


class BronzeTable:
    """A source's bronze table: data columns, then the lineage columns."""

    def __init__(self, spark: SparkSession, schema_name: str, table: str, source: str):
        self.spark = spark
        self.ref = DeltaRef.of(spark, schema_name, table)
        self.name = f"{schema_name}.{table}"
        self.source = source
        self.app_id = f"ingestion:{source}"
        self._exists = False

    def exists(self) -> bool:
        """Whether the table exists: a metastore look-up until it does, then known (ingestion never drops it)."""
        if not self._exists:
            self._exists = self.ref.exists(self.spark)
        return self._exists

    def create(self, data_schema: T.StructType) -> None:
        schema = T.StructType(data_schema.fields + LINEAGE_SCHEMA.fields)
        properties = {"delta.dataSkippingStatsColumns": _stats_columns(data_schema), **NOT_AUTO_COMPACTED}
        self.ref.create(self.spark, schema, properties)
        self._exists = True

    def compact(self) -> None:
        self.ref.compact(self.spark)

    def schema(self) -> T.StructType:
        return self.ref.read(self.spark).schema

    def data_schema(self, schema: T.StructType | None = None) -> T.StructType:
        lineage = set(LINEAGE_SCHEMA.fieldNames())
        return T.StructType([f for f in (schema or self.schema()).fields if f.name not in lineage])

    def ensure_lineage(self, schema: T.StructType) -> T.StructType:
        """Tables made by an earlier version lack newer lineage columns (_source_row): add them."""
        present = {name.lower() for name in schema.fieldNames()}
        missing = [f for f in LINEAGE_SCHEMA.fields if f.name.lower() not in present]
        if not missing:
            return schema
        self.add_columns({f.name: f.dataType for f in missing})
        stats = _stats_columns(self.data_schema(schema))
        self.spark.sql(f"alter table {self.ref.sql} set tblproperties ('delta.dataSkippingStatsColumns' = '{stats}')")
        return self.schema()

    def add_columns(self, columns: dict[str, T.DataType]) -> None:
        existing = {name.lower() for name in self.schema().fieldNames()}
        missing = {name: dtype for name, dtype in columns.items() if name.lower() not in existing}
        if missing:
            ddl = ", ".join(f"`{name}` {dtype.simpleString()}" for name, dtype in missing.items())
            self.spark.sql(f"alter table {self.ref.sql} add columns ({ddl})")

    def write(
        self, frame: DataFrame, commit: BatchCommit, *, replace: list[FileInfo] | None = None, versions: bool = False
    ) -> bool:
        """Append (or, for a replay, atomically replace the rows of the files `replace`: of each file's listed
        version only with `versions`, for a source whose files are rewritten in place) as transaction
        (ingestion:<source>, batch id). Returns False when Delta skipped the write because that batch had
        already committed (another run, or this batch before a crash)."""
        writer = (
            frame.write.format("delta")
            .option("txnAppId", self.app_id)
            .option("txnVersion", commit.batch_id)
            .option("userMetadata", commit.to_json())
            .option("mergeSchema", "false")
        )
        if replace is not None:
            writer = writer.mode("overwrite").option("replaceWhere", _rows_of(replace, versions))
        else:
            writer = writer.mode("append")
        try:
            self.ref.save(writer)
        except Exception as exc:
            if not lost_to_another_writer(exc):
                raise
            return False
        # Delta skips a write silently when its batch id is already committed: the newest commits say whose it is.
        # Should more than CLAIM_CHECK_DEPTH commits of other runs follow this one at once, it is not found here:
        # the run plans again and logs it as a batch a run did not log (exact, as after a crash).
        latest = self.ref.history(self.spark, CLAIM_CHECK_DEPTH).select("userMetadata").collect()
        mine = (BatchCommit.from_json(row.userMetadata) for row in latest)
        return any(c is not None and c.batch_id == commit.batch_id and c.run_id == commit.run_id for c in mine)

    def commits(self, *, after: int = 0, limit: int = 10) -> list[BatchCommit]:
        """Ingestion commits of this table with a batch id above `after`, oldest first, from the newest `limit`
        entries of the table's history and further back as long as they are all newer than `after`."""
        found: list[BatchCommit] = []
        while True:
            history = self.ref.history(self.spark, limit).select("version", "userMetadata").collect()
            found = [c for c in (BatchCommit.from_json(row.userMetadata) for row in history) if c is not None]
            reached = any(c.batch_id <= after for c in found) or len(history) < limit or history[-1].version == 0
            if reached or limit >= 10_000:
                break
            limit *= 10
        return sorted((c for c in found if c.batch_id > after), key=lambda c: c.batch_id)

    def batch_counts(self, batch_id: int) -> dict[str, tuple[int, int, int]]:
        """Rows written, rescued and quarantined per source file of one batch, read back (recovery, and batches
        too wide to count while writing)."""
        rows = (
            self.ref.read(self.spark)
            .where(F.col("_batch_id") == batch_id)
            .groupBy("_source_file")
            .agg(
                F.count_if(F.col("_corrupt_record").isNull()).alias("written"),
                F.count_if(F.col("_rescued_data").isNotNull()).alias("rescued"),
                F.count_if(F.col("_corrupt_record").isNotNull()).alias("quarantined"),
            )
            .collect()
        )
        return {row._source_file: (row.written, row.rescued, row.quarantined) for row in rows}

    def rescued_keys(self, batch_id: int) -> list[str]:
        """The keys in the _rescued_data of one batch's rows."""
        keys = F.explode(F.map_keys(F.from_json("_rescued_data", T.MapType(T.StringType(), T.StringType()))))
        rows = (
            self.ref.read(self.spark)
            .where((F.col("_batch_id") == batch_id) & F.col("_rescued_data").isNotNull())
            .select(keys.alias("key"))
            .distinct()
            .collect()
        )
        return sorted(row.key for row in rows)

    def promote(self, batch_id: int, columns: list[str]) -> None:
        """Move rescued values of newly added `columns` into those columns, for the rows of one batch."""
        as_map = "from_json(_rescued_data, 'map<string,string>')"
        names = ", ".join(f"'{name}'" for name in columns)
        assignments = ", ".join(f"`{name}` = coalesce(`{name}`, {as_map}['{name}'])" for name in columns)
        remaining = f"map_filter({as_map}, (k, v) -> not array_contains(array({names}), k))"
        self.spark.sql(
            f"update {self.ref.sql} set {assignments}, "
            f"_rescued_data = case when size({remaining}) > 0 then to_json({remaining}) end "
            f"where _batch_id = {int(batch_id)} and _rescued_data is not null"
        )


class SchemaHistory:
    """Each source's schema versions (declared, inferred, columns added), numbered per source from 0."""

    def __init__(self, spark: SparkSession, schema_name: str):
        self.spark = spark
        self.schema_name = schema_name
        self._ref: DeltaRef | None = None  # made on the first change: most runs change no schema
        self._lock = threading.Lock()
        self._last_versions: dict[str, int] | None = None  # read once, then counted here

    @property
    def ref(self) -> DeltaRef:
        with self._lock:
            if self._ref is None:
                self._ref = ensure_table(self.spark, self.schema_name, SCHEMA_HISTORY, SCHEMA_HISTORY_SCHEMA)
            return self._ref

    def _next_version(self, source: str) -> int:
        ref = self.ref
        with self._lock:
            if self._last_versions is None:
                rows = ref.read(self.spark).groupBy("source").agg(F.max("version")).collect()
                self._last_versions = {row[0]: row[1] for row in rows}
            version = self._last_versions.get(source, -1) + 1
            self._last_versions[source] = version
            return version

    def record(self, source: str, table: str, change: str, columns: list[str], schema: T.StructType, batch_id):
        """Append one version. Appends of several sources run at once (Delta commits blind appends side by side)."""
        version = self._next_version(source)
        row = {
            "source": source,
            "table_name": table,
            "version": version,
            "change": change,
            "columns": columns,
            "schema_ddl": _ddl(schema),
            "batch_id": batch_id,
            "recorded_at": datetime.now(timezone.utc),
        }
        self.ref.save(rows_frame(self.spark, [row], SCHEMA_HISTORY_SCHEMA).write.format("delta").mode("append"))
