"""The Delta tables ingestion owns: bronze tables, the transfer log and the schema history.

Writes are idempotent Delta transactions: each bronze write carries (txnAppId, txnVersion) =
(ingestion:<source>, batch id), so a batch re-executed after a crash is skipped by Delta itself if its first
execution committed. Claims in the transfer log use the same mechanism so two runs cannot claim one batch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

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
    ]
)

LOG_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType()),
        T.StructField("file_path", T.StringType()),
        T.StructField("file_size", T.LongType()),
        T.StructField("file_modified_at", T.TimestampType()),
        T.StructField("batch_id", T.LongType()),
        T.StructField("run_id", T.StringType()),
        T.StructField("action", T.StringType()),  # ingest | overwrite | replay
        T.StructField("status", T.StringType()),  # started | committed | failed | rewrite_ignored
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
TERMINAL = ("committed", "failed", "rewrite_ignored")


def _ddl(schema: T.StructType) -> str:
    columns = []
    for field in schema.fields:
        comment = field.metadata.get("comment")
        suffix = f" comment '{comment}'" if comment else ""
        columns.append(f"`{field.name}` {field.dataType.simpleString()}{suffix}")
    return ", ".join(columns)


@dataclass(frozen=True)
class DeltaRef:
    """A Delta table ingestion owns. Locally it is read and written by path (no metastore round trip on a
    normal run: the embedded metastore costs seconds per process) and registered in the metastore once, for
    dbt; on Databricks it is a managed table used by name."""

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
        if self.path:
            return DeltaTable.isDeltaTable(spark, self.path) and self._registered().exists()
        return spark.catalog.tableExists(f"{self.schema_name}.{self.table}")

    def read(self, spark: SparkSession) -> DataFrame:
        return spark.read.format("delta").load(self.path) if self.path else spark.table(self.name)

    def delta(self, spark: SparkSession) -> DeltaTable:
        return DeltaTable.forPath(spark, self.path) if self.path else DeltaTable.forName(spark, self.name)

    def save(self, writer) -> None:
        writer.save(self.path) if self.path else writer.saveAsTable(self.name)

    def create(self, spark: SparkSession, schema: T.StructType) -> None:
        """Create the table and register it in the metastore; safe to repeat after a crash half-way."""
        if not spark.catalog.databaseExists(self.schema_name):
            spark.sql(f"create database if not exists `{self.schema_name}`")
        location = f" location '{self.path}'" if self.path else ""
        spark.sql(f"create table if not exists {self.name} ({_ddl(schema)}) using delta{location}")
        if self.path:
            self._registered().parent.mkdir(parents=True, exist_ok=True)
            self._registered().touch()

    def _registered(self) -> Path:
        """Marker beside the table's files: the metastore knows this table (written after registration)."""
        return Path(self.path.removeprefix("file:")).parent / f".{self.table}.registered"


def ensure_table(spark: SparkSession, schema_name: str, table: str, schema: T.StructType) -> DeltaRef:
    ref = DeltaRef.of(spark, schema_name, table)
    if not ref.exists(spark):
        ref.create(spark, schema)
    return ref


@dataclass(frozen=True)
class LogEvent:
    file: FileInfo
    batch_id: int
    action: str
    status: str


class TransferLog:
    """One row per file per batch event; a file's state is its latest event."""

    def __init__(self, spark: SparkSession, schema_name: str):
        self.spark = spark
        self.ref = ensure_table(spark, schema_name, TRANSFER_LOG, LOG_SCHEMA)

    def events(self, source: str) -> list[LogEvent]:
        rows = (
            self.ref.read(self.spark)
            .where(F.col("source") == source)
            .select("file_path", "file_size", "file_modified_at", "batch_id", "action", "status")
            .collect()
        )
        return [
            LogEvent(
                FileInfo(_utc(row.file_modified_at), row.file_path, row.file_size, unquote(row.file_path)),
                row.batch_id,
                row.action,
                row.status,
            )
            for row in rows
        ]

    @staticmethod
    def seen(events: list[LogEvent]) -> dict[str, dict[tuple[int, datetime], str]]:
        """Per file URI, the status of each version (size, mtime) the log knows: its most final event
        (a claim is superseded by failed, failed by a later commit of the same version, e.g. a replay)."""
        rank = {"started": 0, "failed": 1, "rewrite_ignored": 2, "committed": 3}
        seen: dict[str, dict[tuple[int, datetime], str]] = defaultdict(dict)
        for event in events:
            version = (event.file.size, event.file.modified_at)
            current = seen[event.file.uri].get(version)
            if current is None or rank.get(event.status, 0) > rank.get(current, 0):
                seen[event.file.uri][version] = event.status
        return seen

    @staticmethod
    def pending(events: list[LogEvent]) -> dict[int, tuple[str, list[FileInfo]]]:
        """Batches claimed ('started') whose files have no terminal event yet: a run died in the middle."""
        started: dict[int, dict[str, LogEvent]] = defaultdict(dict)
        finished: set[tuple[int, str]] = set()
        for event in events:
            if event.status == "started":
                started[event.batch_id][event.file.uri] = event
            elif event.status in TERMINAL:
                finished.add((event.batch_id, event.file.uri))
        pending = {}
        for batch_id, files in started.items():
            open_files = [event.file for uri, event in files.items() if (batch_id, uri) not in finished]
            if open_files:
                pending[batch_id] = (next(iter(files.values())).action, sorted(open_files))
        return pending

    @staticmethod
    def next_batch_id(events: list[LogEvent]) -> int:
        return max((event.batch_id for event in events if event.batch_id is not None), default=0) + 1

    def append(self, rows: list[dict]) -> None:
        frame = self.spark.createDataFrame([_log_row(row) for row in rows], LOG_SCHEMA)
        self.ref.save(frame.write.format("delta").mode("append"))

    def claim(self, rows: list[dict], source: str, batch_id: int, run_id: str) -> bool:
        """Append a batch's 'started' rows as the only claim of (source, batch_id). Delta skips an idempotent
        write whose (txnAppId, txnVersion) already committed, so a second claimant's write silently does
        nothing; it learns that it lost because no commit carries its tag. Returns whether this run won."""
        tag = f"claim {source} {batch_id} {run_id}"
        frame = self.spark.createDataFrame([_log_row(row) for row in rows], LOG_SCHEMA)
        self.ref.save(
            frame.write.format("delta")
            .mode("append")
            .option("txnAppId", f"claim:{source}")
            .option("txnVersion", batch_id)
            .option("userMetadata", tag)
        )
        recent = self.ref.delta(self.spark).history(20).where(F.col("userMetadata") == tag)
        return not recent.isEmpty()


def _utc(value: datetime) -> datetime:
    """PySpark returns timestamps as naive local times; make them comparable with listing times."""
    return value.astimezone(timezone.utc)


def _log_row(row: dict) -> tuple:
    return tuple(row.get(field.name) for field in LOG_SCHEMA.fields)


class BronzeTable:
    """A source's bronze table: data columns, then the lineage columns."""

    def __init__(self, spark: SparkSession, schema_name: str, table: str, source: str):
        self.spark = spark
        self.ref = DeltaRef.of(spark, schema_name, table)
        self.name = f"{schema_name}.{table}"
        self.app_id = f"ingestion:{source}"

    def exists(self) -> bool:
        return self.ref.exists(self.spark)

    def create(self, data_schema: T.StructType) -> None:
        self.ref.create(self.spark, T.StructType(data_schema.fields + LINEAGE_SCHEMA.fields))

    def columns(self) -> list[str]:
        return self.ref.read(self.spark).columns

    def data_schema(self) -> T.StructType:
        lineage = set(LINEAGE_SCHEMA.fieldNames())
        return T.StructType([f for f in self.ref.read(self.spark).schema.fields if f.name not in lineage])

    def add_columns(self, columns: dict[str, T.DataType]) -> None:
        existing = {name.lower() for name in self.columns()}
        missing = {name: dtype for name, dtype in columns.items() if name.lower() not in existing}
        if missing:
            ddl = ", ".join(f"`{name}` {dtype.simpleString()}" for name, dtype in missing.items())
            self.spark.sql(f"alter table {self.ref.sql} add columns ({ddl})")

    def write(self, frame: DataFrame, batch_id: int, *, replace_files: list[str] | None = None) -> None:
        """Append (or, for a replay, atomically replace the rows of `replace_files`) as transaction batch_id."""
        writer = (
            frame.write.format("delta")
            .option("txnAppId", self.app_id)
            .option("txnVersion", batch_id)
            .option("mergeSchema", "false")
        )
        if replace_files is not None:
            quoted = ", ".join("'" + uri.replace("\\", "\\\\").replace("'", "\\'") + "'" for uri in replace_files)
            writer = writer.mode("overwrite").option("replaceWhere", f"_source_file in ({quoted})")
        else:
            writer = writer.mode("append")
        self.ref.save(writer)

    def batch_summary(self, batch_id: int) -> dict[str, tuple[int, int, int, list[str]]]:
        """Per source file of the batch, in one scan: rows written, rescued, quarantined, and the keys found
        in its rescued data (where unknown columns show up)."""
        rescued_keys = F.map_keys(F.from_json("_rescued_data", T.MapType(T.StringType(), T.StringType())))
        rows = (
            self.ref.read(self.spark)
            .where(F.col("_batch_id") == batch_id)
            .groupBy("_source_file")
            .agg(
                F.count_if(F.col("_corrupt_record").isNull()).alias("written"),
                F.count_if(F.col("_rescued_data").isNotNull()).alias("rescued"),
                F.count_if(F.col("_corrupt_record").isNotNull()).alias("quarantined"),
                F.array_distinct(F.flatten(F.collect_list(rescued_keys))).alias("keys"),
            )
            .collect()
        )
        return {row._source_file: (row.written, row.rescued, row.quarantined, list(row.keys)) for row in rows}

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
    def __init__(self, spark: SparkSession, schema_name: str):
        self.spark = spark
        self.ref = ensure_table(spark, schema_name, SCHEMA_HISTORY, SCHEMA_HISTORY_SCHEMA)

    def record(self, source: str, table: str, change: str, columns: list[str], schema: T.StructType, batch_id):
        version = self.ref.read(self.spark).where(F.col("source") == source).count()
        row = (source, table, version, change, columns, _ddl(schema), batch_id, datetime.now().astimezone())
        frame = self.spark.createDataFrame([row], SCHEMA_HISTORY_SCHEMA)
        self.ref.save(frame.write.format("delta").mode("append"))
