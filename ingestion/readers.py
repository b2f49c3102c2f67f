"""Format-specific reading: raw files in, one DataFrame out in the bronze shape.

Every reader returns the data columns of `schema` (typed; absent ones NULL) plus
  _rescued_data    JSON object of values that did not fit: unknown columns and values of the wrong type
  _corrupt_record  the raw record when it could not be parsed at all (data columns are then NULL)
  _source_file, _file_size, _file_modified_at   from Spark's file metadata.
One input record gives exactly one output row, so per-file counts reconcile by construction.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingestion.config import SourceConfig
from ingestion.discovery import FileInfo, escape_glob

RAW = "_raw_record"  # key of a whole record rescued because no single field could be blamed
CORRUPT = "_corrupt"
BOM = "\ufeff"
REPLACEMENT_CHARACTER = "\ufffd"  # what invalid UTF-8 decodes to in the CSV reader


def _metadata_columns() -> list[Column]:
    return [
        F.col("_metadata.file_path").alias("_source_file"),
        F.col("_metadata.file_size").alias("_file_size"),
        F.col("_metadata.file_modification_time").alias("_file_modified_at"),
    ]


def _paths(files: list[FileInfo]) -> list[str]:
    return [escape_glob(file.path) for file in files]


def _finish(frame: DataFrame, schema: T.StructType) -> DataFrame:
    """Order the columns as bronze stores them: data, then rescue/corrupt, then lineage."""
    data = [F.col(f"`{field.name}`").cast(field.dataType).alias(field.name) for field in schema.fields]
    extra = ["_rescued_data", "_corrupt_record", "_source_file", "_file_size", "_file_modified_at"]
    return frame.select(*data, *[F.col(name) for name in extra])


def _null_data_if(corrupt: Column, schema: T.StructType, frame: DataFrame) -> DataFrame:
    for field in schema.fields:
        frame = frame.withColumn(field.name, F.when(~corrupt, F.col(f"`{field.name}`")))
    return frame


# --- JSON lines -------------------------------------------------------------------------------------------


def read_json(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """JSON lines (plain or gzip). Each line is parsed once against the schema and once for its top-level keys;
    only lines with unknown keys or values of the wrong type are parsed a third time, as a map, to rescue them.
    Each expensive expression is computed once, in its own projection, and referenced by name afterwards."""
    known = [field.name for field in schema.fields]
    parse_schema = T.StructType([*schema.fields, T.StructField(CORRUPT, T.StringType())])
    value = F.col("value")
    parsed = (
        spark.read.text(_paths(files))
        .select("value", *_metadata_columns())
        .where(F.length(F.trim(value)) > 0)  # blank lines are not records
        .select(
            "*",
            F.when(value.startswith(BOM), F.expr(f"substring(value, {len(BOM) + 1})")).otherwise(value).alias("_line"),
            F.expr("is_valid_utf8(value)").alias("_valid_utf8"),
        )
        .select(
            "*",
            F.expr("json_object_keys(_line)").alias("_keys"),  # NULL when the line is not a JSON object
            F.from_json("_line", parse_schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}).alias(
                "_parsed"
            ),
        )
    )
    is_corrupt = ~F.col("_valid_utf8") | F.col("_keys").isNull()
    unknown = F.array_except(F.col("_keys"), F.array(*[F.lit(name) for name in known]))
    checked = parsed.select(
        "*",
        is_corrupt.alias("_is_corrupt"),
        F.when(
            ~is_corrupt & ((F.size(unknown) > 0) | F.col(f"_parsed.{CORRUPT}").isNotNull()),
            F.from_json("_line", T.MapType(T.StringType(), T.StringType())),
        ).alias("_map"),
        unknown.alias("_unknown"),
    )
    # A known field is rescued when the raw record has a value for it but the typed parse produced NULL.
    mistyped = [
        F.when(F.col(f"_parsed.`{name}`").isNull() & F.col("_map").getItem(name).isNotNull(), F.lit(name))
        for name in known
    ]
    blamed = F.concat(F.col("_unknown"), F.array_compact(F.array(*mistyped))) if mistyped else F.col("_unknown")
    rescued = checked.select("*", F.map_filter("_map", lambda k, _: F.array_contains(blamed, k)).alias("_rescued_map"))
    frame = rescued.select(
        *[F.when(~F.col("_is_corrupt"), F.col(f"_parsed.`{name}`")).alias(name) for name in known],
        F.when(
            F.col("_map").isNotNull(),
            # A wrong type deep inside a nested value cannot be blamed on a top-level key: keep the whole record.
            F.when(F.size("_rescued_map") > 0, F.to_json("_rescued_map")).otherwise(
                F.to_json(F.create_map(F.lit(RAW), F.col("_line")))
            ),
        ).alias("_rescued_data"),
        F.when(F.col("_is_corrupt"), F.expr("make_valid_utf8(_line)")).alias("_corrupt_record"),
        "_source_file",
        "_file_size",
        "_file_modified_at",
    )
    return _finish(frame, schema)


def json_head_keys(spark: SparkSession, files: list[FileInfo], lines: int = 200) -> list[str]:
    """Top-level keys in the first `lines` lines of each file, read on the driver: a cheap early look at new
    columns, so a schema change that starts at a file's top is evolved before the write, not rescued first."""
    keys: list[str] = []
    for file in files:
        for line in _head(spark, file, lines):
            try:
                record = json.loads(line.lstrip(BOM))
            except ValueError:
                continue
            if isinstance(record, dict):
                keys += [key for key in record if key not in keys]
    return keys


def _head(spark: SparkSession, file: FileInfo, lines: int) -> list[str]:
    """The first `lines` lines of a file (decompressed if needed); [] when it cannot be read."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(file.path)
    stream = path.getFileSystem(conf).open(path)
    out = []
    try:
        codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf).getCodec(path)
        if codec is not None:
            stream = codec.createInputStream(stream)
        reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
        while len(out) < lines and (line := reader.readLine()) is not None:
            out.append(line)
    except Exception:  # an unreadable file: the data read reports it with its cause
        return out
    finally:
        stream.close()
    return out


def json_keys(spark: SparkSession, files: list[FileInfo]) -> list[str]:
    """Top-level keys over all records of `files`, in order of first appearance (for inference and pre-checks)."""
    rows = (
        spark.read.text(_paths(files))
        .select(F.posexplode(F.expr(f"json_object_keys(regexp_replace(value, '^{BOM}', ''))")))
        .groupBy("col")
        .agg(F.min("pos").alias("pos"))
        .orderBy("pos", "col")
        .collect()
    )
    return [row.col for row in rows]


# --- CSV --------------------------------------------------------------------------------------------------


def read_headers(spark: SparkSession, files: list[FileInfo], source: SourceConfig) -> dict[str, list[str]]:
    """The header row of each CSV file, read on the driver (first line only, decompressed if needed)."""
    if not source.csv.header:
        return {file.uri: list(source.schema or {}) for file in files}
    return {file.uri: _dedupe(_header(spark, file, source)) for file in files}


def _header(spark: SparkSession, file: FileInfo, source: SourceConfig) -> list[str]:
    first = _head(spark, file, 1)
    if not first or not first[0]:
        return []
    fields = next(csv.reader([first[0].lstrip(BOM)], delimiter=source.csv.delimiter, quotechar=source.csv.quote))
    return [name.strip() for name in fields]


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = defaultdict(int)
    out = []
    for index, name in enumerate(names):
        name = name or f"_c{index}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}__{seen[name]}")
    return out


def read_csv(spark: SparkSession, files: list[FileInfo], schema: T.StructType, source: SourceConfig) -> DataFrame:
    """CSV with a header: files are grouped by header, read as strings, then cast to the schema's types.
    A value that does not cast, or a column the schema lacks, is rescued; a row with the wrong number of
    fields (or undecodable bytes) is a corrupt record."""
    headers = read_headers(spark, files, source)
    groups: dict[tuple[str, ...], list[FileInfo]] = defaultdict(list)
    for file in files:
        groups[tuple(headers[file.uri])].append(file)
    frames = [_read_csv_group(spark, group, list(header), schema, source) for header, group in groups.items()]
    return _union(frames) if frames else _empty(spark, schema)


def _read_csv_group(spark, files, header, schema, source) -> DataFrame:
    if not header:  # empty files: no header, no records
        return _empty(spark, schema)
    string_schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in header] + [T.StructField(CORRUPT, T.StringType())]
    )
    raw = (
        spark.read.schema(string_schema)
        .options(
            header=source.csv.header,
            sep=source.csv.delimiter,
            quote=source.csv.quote,
            escape=source.csv.escape,
            multiLine=True,  # quoted newlines
            mode="PERMISSIVE",
            columnNameOfCorruptRecord=CORRUPT,
            enforceSchema=True,
        )
        .csv(_paths(files))
        .select("*", *_metadata_columns())
    )
    joined = F.concat_ws(source.csv.delimiter, *[F.col(f"`{name}`") for name in header])
    is_corrupt = F.col(CORRUPT).isNotNull() | joined.contains(REPLACEMENT_CHARACTER)
    return _typed_from_strings(raw, header, schema, is_corrupt, F.coalesce(F.col(CORRUPT), joined))


def _typed_from_strings(raw: DataFrame, columns: list[str], schema: T.StructType, is_corrupt, corrupt_text):
    """Cast string columns to the schema; rescue what does not cast and what the schema does not know."""
    known = {field.name: field.dataType for field in schema.fields}
    typed = {
        name: F.expr(f"try_cast(`{name}` as {known[name].simpleString()})") if name in columns else F.lit(None)
        for name in known
    }
    entries = []
    for name in columns:
        if name in known and known[name] != T.StringType():
            bad = F.col(f"`{name}`").isNotNull() & typed[name].isNull()
        elif name in known:
            continue
        else:
            bad = F.col(f"`{name}`").isNotNull()
        entries.append(F.when(bad, F.struct(F.lit(name).alias("k"), F.col(f"`{name}`").alias("v"))))
    if entries:
        pairs = F.array_compact(F.array(*entries))
        rescued = F.when(~is_corrupt & (F.size(pairs) > 0), F.to_json(F.map_from_entries(pairs)))
    else:
        rescued = F.lit(None).cast("string")
    frame = raw.select(
        *[F.when(~is_corrupt, typed[name]).alias(name) for name in known],
        rescued.alias("_rescued_data"),
        F.when(is_corrupt, corrupt_text).alias("_corrupt_record"),
        "_source_file",
        "_file_size",
        "_file_modified_at",
    )
    return _finish(frame, schema)


# --- Parquet ----------------------------------------------------------------------------------------------


def parquet_schemas(spark: SparkSession, files: list[FileInfo]) -> dict[str, T.StructType]:
    """Each Parquet file's own schema (footer only)."""
    return {file.uri: spark.read.parquet(escape_glob(file.path)).schema for file in files}


def read_parquet(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """Parquet files grouped by their own schema; columns of another type are cast (rescued when they do not
    cast), columns the schema lacks are rescued."""
    by_schema: dict[str, list[FileInfo]] = defaultdict(list)
    file_schemas = parquet_schemas(spark, files)
    for file in files:
        by_schema[file_schemas[file.uri].json()].append(file)
    frames = []
    for schema_json, group in by_schema.items():
        file_schema = T.StructType.fromJson(json.loads(schema_json))
        raw = spark.read.parquet(*_paths(group)).select("*", *_metadata_columns())
        # Render every column as text once; casting from text gives one rule for every type pair.
        as_text = raw.select(
            *[_as_text(field).alias(field.name) for field in file_schema.fields],
            "_source_file",
            "_file_size",
            "_file_modified_at",
        )
        frames.append(
            _typed_from_strings(as_text, file_schema.fieldNames(), schema, F.lit(False), F.lit(None).cast("string"))
        )
    return _union(frames) if frames else _empty(spark, schema)


def _as_text(field: T.StructField) -> Column:
    column = F.col(f"`{field.name}`")
    if isinstance(field.dataType, T.StructType | T.ArrayType | T.MapType):
        return F.to_json(column)
    return column.cast("string")


# --- shared -----------------------------------------------------------------------------------------------


def _union(frames: list[DataFrame]) -> DataFrame:
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def _empty(spark: SparkSession, schema: T.StructType) -> DataFrame:
    lineage = T.StructType(
        [
            T.StructField("_rescued_data", T.StringType()),
            T.StructField("_corrupt_record", T.StringType()),
            T.StructField("_source_file", T.StringType()),
            T.StructField("_file_size", T.LongType()),
            T.StructField("_file_modified_at", T.TimestampType()),
        ]
    )
    return spark.createDataFrame([], T.StructType(schema.fields + lineage.fields))


def read_files(spark: SparkSession, source: SourceConfig, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    if source.format == "json":
        return read_json(spark, files, schema)
    if source.format == "csv":
        return read_csv(spark, files, schema, source)
    return read_parquet(spark, files, schema)


def incoming_columns(spark: SparkSession, source: SourceConfig, files: list[FileInfo]) -> list[str]:
    """Column names present in `files`, in order of appearance (a full key scan for JSON)."""
    if source.format == "csv":
        names: list[str] = []
        for header in read_headers(spark, files, source).values():
            names += [name for name in header if name not in names]
        return names
    if source.format == "parquet":
        names = []
        for file_schema in parquet_schemas(spark, files).values():
            names += [name for name in file_schema.fieldNames() if name not in names]
        return names
    return json_keys(spark, files)
