"""Format-specific reading: raw files in, one DataFrame out in the bronze shape.

Every reader returns the data columns of `schema` (typed; absent ones NULL) plus
  _rescued_data    JSON object of values that did not fit: unknown columns, values of the wrong type, and values
                   that would only fit with a loss (a decimal rounded, a date with a time, a number out of range)
  _corrupt_record  the raw record when it could not be parsed at all (data columns are then NULL)
  _source_file, _file_size, _file_modified_at   from Spark's file metadata
  _source_row      the record's position in its file (see `_row_position`)
  _unknown_keys    (internal, dropped before writing) names of columns the schema does not have
One input record gives exactly one output row, so per-file counts reconcile by construction.

Before any Spark work, `sniff` looks at the first bytes of each file (compression, text encoding, the header of a
CSV file, the keys at the top of a JSON file), so a file that cannot be read fails alone with a clear cause.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingestion.config import SourceConfig
from ingestion.discovery import FileInfo, escape_glob
from ingestion.storage import decompressed_head

RAW = "_raw_record"  # key of a whole record rescued because no single field could be blamed
CORRUPT = "_corrupt"
UNKNOWN_KEYS = "_unknown_keys"
BOM = "\ufeff"
REPLACEMENT_CHARACTER = "\ufffd"  # what invalid UTF-8 decodes to in the CSV reader
HEAD_LINES = 200
MAX_CHECKED_NAMES = 16  # a line's keys are counted against at most this many names (_more_keys_than)
MAX_DRIFT_FIELDS = 100  # unknown keys parsed with the schema (the rest of a very wide record goes through a map)
MAX_DECODED_BYTES = 256 * 1024 * 1024  # UTF-16 files are decoded whole, in one row: keep that bounded
# Below this, a JSON batch is read line by line: the two passes that show Spark's JSON data source would read it
# alike cost more than they save (measured in BENCHMARKS.md, "Reading JSON lines through the data source").
JSON_SOURCE_FROM_BYTES = 8 * 1024 * 1024
GAVE_UP = "LAKEHOUSE_JSON_SOURCE_GAVE_UP"  # in the error of a write whose rows the data source could not rescue
LINEAGE = ["_rescued_data", "_corrupt_record", "_source_file", "_file_size", "_file_modified_at", "_source_row"]

# The JSON parser's options, for `from_json` and the data source alike. A date must be a date: the default parser
# would silently drop the time of "2026-01-01T23:59:59Z".
JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT, "dateFormat": "yyyy-MM-dd"}

COMPRESSION = {".gz": "gzip", ".bz2": "bzip2"}  # what Spark's text formats decompress by file extension
UNSUPPORTED = (".zip", ".7z", ".rar", ".tar", ".tgz", ".xz", ".lzma", ".z", ".zst", ".lz4", ".snappy", ".br", ".sz")
MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"PK\x03\x04": "zip", b"7z\xbc\xaf": "7z", b"\xfd7zXZ": "xz"}
BOMS = [  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32le"),
    (b"\x00\x00\xfe\xff", "utf-32be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16le"),
    (b"\xfe\xff", "utf-16be"),
]


# --- sniffing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sniff:
    """What the first bytes of a file say about how to read it."""

    encoding: str = "utf-8"  # utf-8 (BOM or not) or utf-16le/be
    problem: str | None = None  # why the file cannot be read: it fails alone, with this cause
    head: list[str] = field(default_factory=list)  # its first lines, decoded (for headers and early keys)


def sniff(file: FileInfo, head: bytes | OSError, file_format: str) -> Sniff:
    """Classify a file from its name and first bytes (pure: no Spark, no I/O)."""
    if isinstance(head, OSError):
        return Sniff(problem=f"cannot be read: {' '.join(str(head).split())[:300]}")
    if file_format == "parquet":
        return Sniff() if head.startswith(b"PAR1") else Sniff(problem="not a Parquet file (no PAR1 magic bytes)")
    name = file.path.rsplit("/", 1)[-1].lower()
    extension = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if extension in UNSUPPORTED:
        return Sniff(problem=f"{extension} compression is not supported (supported: {', '.join(COMPRESSION)})")
    declared = COMPRESSION.get(extension)
    actual = next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), None)
    if actual in ("zip", "7z", "xz"):
        return Sniff(problem=f"the content is {actual}-compressed, which is not supported; unpack it first")
    if declared and head and actual != declared:
        return Sniff(problem=f"the name says {declared} but the content is not {declared}-compressed")
    if actual and not declared:
        return Sniff(problem=f"the content is {actual}-compressed but the name does not end in .gz/.bz2")
    text = decompressed_head(head) if declared == "gzip" else head if not declared else b""
    encoding = next((kind for mark, kind in BOMS if text.startswith(mark)), "utf-8")
    if encoding.startswith("utf-32"):
        return Sniff(problem="the text is UTF-32 encoded, which is not supported; convert it to UTF-8")
    if encoding.startswith("utf-16") and (declared or file.size > MAX_DECODED_BYTES):
        return Sniff(problem="the text is UTF-16 encoded and compressed or too large to decode; convert it to UTF-8")
    decoded = text.decode(encoding, errors="replace").removeprefix(BOM)
    lines = decoded.splitlines()
    if len(text) >= len(head) and lines and not decoded.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut short by the head's size
    return Sniff(encoding=encoding, head=lines[:HEAD_LINES] if text else [])


def json_head_keys(sniffs: list[Sniff]) -> list[str]:
    """Top-level keys in the first lines of JSON files: a cheap early look at new columns, so a schema change
    that starts at a file's top is evolved before the write, not rescued first."""
    keys: list[str] = []
    for found in sniffs:
        for line in found.head:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                keys += [key for key in record if key not in keys]
    return keys


def csv_header(found: Sniff, source: SourceConfig) -> list[str]:
    """The header row of a CSV file as column names ([] for an empty file). Empty and repeated names get
    positional names (`_c3`) or a suffix (`name__2`), so every column keeps its values."""
    if not found.head:
        return []
    fields = next(csv.reader([found.head[0]], delimiter=source.csv.delimiter, quotechar=source.csv.quote))
    seen: dict[str, int] = defaultdict(int)
    names = []
    for index, name in enumerate(fields):
        name = name.strip() or f"_c{index}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name}__{seen[name]}")
    return names


def header_problem(header: list[str], known: list[str]) -> str | None:
    """A header that names none of the known columns is data read as a header: the first record would be lost
    and its values would become column names."""
    if not header or not known:
        return None
    if {name.lower() for name in header} & {name.lower() for name in known}:
        return None
    return (
        f"its first line ({','.join(header)[:120]}) names none of the columns {', '.join(known)}: "
        "a header row is expected (csv.header: true)"
    )


# --- shared pieces ----------------------------------------------------------------------------------------


def _metadata_columns() -> list[Column]:
    return [
        F.col("_metadata.file_path").alias("_source_file"),
        F.col("_metadata.file_size").alias("_file_size"),
        F.col("_metadata.file_modification_time").alias("_file_modified_at"),
    ]


def _row_position() -> Column:
    """The record's position in its file, from 1, evaluated right after the scan. Spark reports no line numbers
    for text, so it is the start of the file's split (a byte offset, 0 for the first) plus the row's index in
    its read task: increasing with the position in the file (an index never reaches the next split's offset),
    and the line number itself when the file is the only one its task reads."""
    index_in_task = F.monotonically_increasing_id().bitwiseAND(F.lit((1 << 33) - 1))
    return (F.col("_metadata.file_block_start") + index_in_task + 1).alias("_source_row")


def _paths(files: list[FileInfo]) -> list[str]:
    return [escape_glob(file.path) for file in files]


def _finish(frame: DataFrame, schema: T.StructType) -> DataFrame:
    """Order the columns as bronze keeps them: data, then rescue/corrupt, then lineage."""
    data = [F.col(f"`{field.name}`").cast(field.dataType).alias(field.name) for field in schema.fields]
    unknown = F.col(UNKNOWN_KEYS)
    # NULL rather than empty, so the batch's collection of unknown keys skips the rows without any.
    return frame.select(
        *data, *[F.col(name) for name in LINEAGE], F.when(F.size(unknown) > 0, unknown).alias(UNKNOWN_KEYS)
    )


def _nonfinite(typed: Column) -> Column:
    return F.isnan(typed) | (F.abs(typed) == F.lit(float("inf")))


def _lossy_decimal(raw: Column, typed: Column, data_type: T.DecimalType) -> Column:
    """A decimal that was rounded to fit its scale (1.239 into decimal(5,2) or decimal(38,2)): the text compared
    with the value at 10 more fractional digits than the column keeps; for a value with too many integer digits
    for that, at as many more as the column's precision leaves room for."""
    checks = []
    for wider in dict.fromkeys([_wider_decimal(data_type), _wider_decimal(data_type, bounded=True)]):
        as_written = raw.try_cast(wider)
        checks.append(F.when(as_written.isNotNull(), as_written != typed.cast(wider)))
    return typed.isNotNull() & F.coalesce(*checks, F.lit(True))


def _values_as_written(line: Column) -> Column:
    """A JSON object's top-level values as text, each as written: a string's own text, anything else its JSON
    (through VARIANT, which keeps a number's digits)."""
    values = F.from_json(line, T.MapType(T.StringType(), T.VariantType()))
    return F.transform_values(values, lambda _, value: value.cast("string"))


def _overflowed(typed: Column, written_as_literal: Column) -> Column:
    """A number beyond the type's range that became infinity (1e400 as double); a NaN or Infinity written as such
    is kept."""
    return typed.isNotNull() & _nonfinite(typed) & ~F.coalesce(written_as_literal, F.lit(False))


def _written_nonfinite(text: Column) -> Column:
    """The text is NaN or (+/-)Infinity, as written (not a number that overflowed)."""
    return F.lower(F.trim(text)).rlike(r"^[+-]?(nan|inf|infinity)$")


# --- JSON lines -------------------------------------------------------------------------------------------


def _json_lines(spark: SparkSession, files: list[FileInfo], sniffs: dict[str, Sniff]) -> DataFrame:
    """One row per non-blank line: value, position and file metadata. UTF-8 files (plain or compressed) through
    the text source; UTF-16 files decoded whole (they are bounded by MAX_DECODED_BYTES) and split into lines."""
    utf8 = [file for file in files if sniffs[file.uri].encoding == "utf-8"]
    utf16 = [file for file in files if sniffs[file.uri].encoding.startswith("utf-16")]
    frames = []
    if utf8:
        frames.append(spark.read.text(_paths(utf8)).select("value", *_metadata_columns(), _row_position()))
    if utf16:
        decoded = spark.read.format("binaryFile").load(_paths(utf16))
        frames.append(
            decoded.select(
                F.posexplode(F.split(F.decode("content", "UTF-16"), r"\r?\n")).alias("_line_index", "value"),
                *_metadata_columns(),
            ).select(
                "value",
                "_source_file",
                "_file_size",
                "_file_modified_at",
                (F.col("_line_index") + 1).cast("bigint").alias("_source_row"),
            )
        )
    lines = _union(frames)
    return lines.where(F.trim(F.col("value")) != "")  # blank lines are not records


def _more_keys_than(names: list[str]) -> Column:
    """The line's keys may not all be among `names`: true when it has more keys than it has of `names` (a repeated
    key counts twice), a check per name. Past a few names the check costs more than the set difference it saves:
    then always true."""
    if len(names) > MAX_CHECKED_NAMES:
        return F.lit(True)
    present = [F.array_contains("_keys", name).cast("int") for name in names]
    return F.size("_keys") > (sum(present[1:], present[0]) if present else F.lit(0))


def read_json(
    spark: SparkSession, files: list[FileInfo], schema: T.StructType, sniffs: dict[str, Sniff], *, fast: bool = True
) -> DataFrame:
    """JSON lines, with Auto Loader's rescued-data semantics. Through Spark's JSON data source when two quick
    passes show that it gives the same rows (`_parses_alike`): it parses bytes, where the expressions of
    `_rescue_lines` parse each line through a new character reader (several times faster per line). Otherwise,
    and with `fast=False` or under JSON_SOURCE_FROM_BYTES of files, every line goes through `_rescue_lines`."""
    large = sum(file.size for file in files) >= JSON_SOURCE_FROM_BYTES
    if fast and large and _parses_alike(spark, files, schema, sniffs):
        return _read_json_source(spark, files, schema)
    return _rescue_lines(_json_lines(spark, files, sniffs), schema, json_head_keys([sniffs[f.uri] for f in files]))


def _parses_alike(spark: SparkSession, files: list[FileInfo], schema: T.StructType, sniffs: dict[str, Sniff]) -> bool:
    """Whether the JSON data source reads `files` as `_rescue_lines` would, row for row: every file UTF-8, every
    line a JSON object (so one line is one row: the data source skips blank lines and makes a row of each
    element of a top-level array), and no top-level key outside the schema in any line (the data source drops
    unknown keys silently). The first lines decide cheaply when they already show an unknown key; then one pass
    over the text for the lines' first characters, and one of the data source's own key inference."""
    known = set(schema.fieldNames())
    if any(sniffs[file.uri].encoding != "utf-8" for file in files):
        return False
    if any(key not in known for key in json_head_keys([sniffs[file.uri] for file in files])):
        return False
    paths = _paths(files)
    value = F.col("value")
    line = F.ltrim(F.when(value.startswith(BOM), F.expr(f"substring(value, {len(BOM) + 1})")).otherwise(value))
    if spark.read.text(paths).where(~line.startswith("{")).limit(1).count():
        return False
    try:
        keys = spark.read.options(**JSON_OPTIONS, samplingRatio=1.0, primitivesAsString=True).json(paths).schema
    except AnalysisException:  # keys the data source cannot tell apart (`id` and `ID`): lines rescue them
        return False
    return all(name in known for name in keys.fieldNames() if name != CORRUPT)


def gave_up(exc: BaseException) -> bool:
    """The write failed because a row read through the JSON data source needs `read_json(fast=False)`."""
    return f"[USER_RAISED_EXCEPTION] {GAVE_UP}" in str(exc)


def _read_json_source(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """Spark's JSON data source with a corrupt-record column: a line it could not parse whole (malformed, a value
    of the wrong type, NaN, invalid UTF-8) keeps its text there and goes through `_rescue_lines`; the other lines
    are the typed row itself. Non-numeric tokens are refused, so that a non-finite number in a parsed row is an
    overflow (1e400): like a decimal that lost digits (read here at `_lossy_decimal`'s wider scale), it would need
    the line's text to rescue, which the data source does not keep. Such a row fails the write (`GAVE_UP`), and
    the ingestion reads the batch again with `fast=False`."""
    wider = {f.name: _wider_decimal(f.dataType) for f in schema.fields if isinstance(f.dataType, T.DecimalType)}
    read_schema = T.StructType(
        [T.StructField(f.name, wider.get(f.name, f.dataType)) for f in schema.fields]
        + [T.StructField(CORRUPT, T.StringType())]
    )
    spark.conf.set("spark.sql.json.enableExactStringParsing", "false")  # text of a non-string token as from_json
    typed = (
        spark.read.schema(read_schema)
        .options(**JSON_OPTIONS, allowNonNumericNumbers=False)
        .json(_paths(files))
        .select(
            *[F.col(f"`{f.name}`").alias(f"_typed_{i}") for i, f in enumerate(schema.fields)],
            F.col(CORRUPT).alias("value"),
            *_metadata_columns(),
            _row_position(),
        )
    )
    typed_names = [f"_typed_{i}" for i in range(len(schema.fields))]
    rescued = _rescue_lines(typed, schema, [], keep=[*typed_names, "value"], finish=False)
    parsed = F.col("value").isNull()
    columns, lost = [], []
    for i, (name, data_type) in enumerate((f.name, f.dataType) for f in schema.fields):
        value = F.col(f"_typed_{i}")
        if name in wider:
            narrowed = value.try_cast(data_type)
            lost.append(value.isNotNull() & (narrowed.isNull() | (narrowed.try_cast(wider[name]) != value)))
            value = narrowed
        elif isinstance(data_type, T.DoubleType | T.FloatType):
            lost.append(F.coalesce(_nonfinite(value), F.lit(False)))
        columns.append(F.when(parsed, value).otherwise(F.col(f"`{name}`")).alias(name))
    give_up = F.lit(False)
    for condition in lost:
        give_up = give_up | condition
    rows = rescued.select(
        *columns,
        *[F.when(~parsed, F.col(name)).alias(name) for name in ("_rescued_data", "_corrupt_record")],
        "_source_file",
        "_file_size",
        "_file_modified_at",
        # Evaluated for every row: the rows that need the line's text stop the write.
        F.when(parsed & give_up, F.raise_error(F.lit(GAVE_UP)).cast("bigint"))
        .otherwise(F.col("_source_row"))
        .alias("_source_row"),
        F.when(~parsed, F.col(UNKNOWN_KEYS)).alias(UNKNOWN_KEYS),
    )
    return _finish(rows, schema)


def _wider_decimal(data_type: T.DecimalType, *, bounded: bool = False) -> T.DecimalType:
    """The decimal type at 10 more fractional digits than `data_type` keeps: a value rounded to fit `data_type`
    differs from itself at this scale. It holds values of up to 28 - scale integer digits; `bounded`, every value
    of `data_type`, at up to 10 more digits (none for decimal(38, s))."""
    if not bounded:
        return T.DecimalType(38, min(data_type.scale + 10, 38))
    integer_digits = data_type.precision - data_type.scale
    return T.DecimalType(38, max(data_type.scale, min(data_type.scale + 10, 38 - integer_digits)))


def _rescue_lines(
    lines: DataFrame, schema: T.StructType, head_keys: list[str], *, keep: Sequence[str] = (), finish: bool = True
) -> DataFrame:
    """The bronze rows of JSON lines (`value`, NULL for none, and the lineage columns), with the columns in `keep`
    carried along. Each line is parsed once against the schema and once for its top-level keys. The unknown keys
    seen at the top of the files (schema drift) are parsed in the same pass, as text; only lines with other
    unknown keys, values of the wrong type or values that lost precision are parsed a third time, as a map, to
    rescue them. Each expensive expression is computed once, in its own projection, and referenced by name."""
    known = [field.name for field in schema.fields]
    types = {field.name: field.dataType for field in schema.fields}
    decimals = [name for name, kind in types.items() if isinstance(kind, T.DecimalType)]
    floats = [name for name, kind in types.items() if isinstance(kind, T.DoubleType | T.FloatType)]
    taken = {name.lower() for name in known} | {CORRUPT}
    drift = []  # parsed as text with the schema: distinct ignoring case from the schema and from each other
    for key in head_keys:
        if key.lower() not in taken and len(drift) < MAX_DRIFT_FIELDS:
            drift.append(key)
            taken.add(key.lower())
    parse_schema = T.StructType(
        [
            *schema.fields,
            *[T.StructField(key, T.StringType()) for key in drift],
            T.StructField(CORRUPT, T.StringType()),
        ]
    )
    value = F.col("value")
    # Text of values as written: parsed to VARIANT, which keeps a number's digits (from_json's strings render a
    # number through a double: 123456789012345678.91 became 1.2345678901234568E17).
    as_text = T.StructType([T.StructField(name, T.VariantType()) for name in decimals])
    parsed = lines.select(
        "*",
        F.when(value.startswith(BOM), F.expr(f"substring(value, {len(BOM) + 1})")).otherwise(value).alias("_line"),
        F.expr("is_valid_utf8(value)").alias("_valid_utf8"),
    ).select(
        "*",
        F.expr("json_object_keys(_line)").alias("_keys"),  # NULL when the line is not a JSON object
        F.from_json("_line", parse_schema, JSON_OPTIONS).alias("_parsed"),
        *([F.from_json("_line", as_text).alias("_as_text")] if decimals else []),
    )
    not_an_object = ~F.col("_valid_utf8") | F.col("_keys").isNull()
    # Set differences of string arrays are slow on this Spark (each element read looks up the session's
    # configuration): computed only for the lines that have more keys than the names they are checked against.
    unknown = F.when(
        _more_keys_than(known), F.array_except(F.col("_keys"), F.array(*[F.lit(name) for name in known]))
    ).otherwise(F.array().cast("array<string>"))
    unparsed = (
        F.when(_more_keys_than(known + drift), F.array_except(unknown, F.array(*[F.lit(key) for key in drift])))
        if drift
        else unknown
    )
    lost_decimal = {
        name: _lossy_decimal(F.col(f"_as_text.`{name}`").cast("string"), F.col(f"_parsed.`{name}`"), types[name])
        for name in decimals
    }
    suspicious = [F.col(f"_parsed.{CORRUPT}").isNotNull(), F.size(unparsed) > 0]
    suspicious += [_nonfinite(F.col(f"_parsed.`{name}`")) for name in floats]
    suspicious += list(lost_decimal.values())
    any_suspicious = suspicious[0]
    for condition in suspicious[1:]:
        any_suspicious = any_suspicious | F.coalesce(condition, F.lit(False))
    mapped = parsed.select(
        "*",
        F.when(~not_an_object & any_suspicious, _values_as_written(F.col("_line"))).alias("_map"),
    )
    # A line the key scan accepts but neither parser can read (a raw control character in a string) is corrupt.
    is_corrupt = not_an_object | (F.col(f"_parsed.{CORRUPT}").isNotNull() & F.col("_map").isNull())
    checked = mapped.select(
        "*",
        is_corrupt.alias("_is_corrupt"),
        F.when(~is_corrupt, unknown).alias(UNKNOWN_KEYS),
    )
    raw = {name: F.col("_map").getItem(name) for name in known}
    typed = {name: F.col(f"_parsed.`{name}`") for name in known}
    lost = {name: F.coalesce(condition, F.lit(False)) for name, condition in lost_decimal.items()}
    # JSON parsers turn 1e400 into Infinity before any text is kept: look at how the line writes the value.
    literal = {name: F.col("_line").rlike(rf'(?i)"{name}"\s*:\s*[+-]?(nan|inf|infinity)\b') for name in floats}
    lost |= {name: F.coalesce(_overflowed(typed[name], literal[name]), F.lit(False)) for name in floats}
    # A known field is rescued when the record has a value for it but the typed parse produced NULL, or a loss.
    blamed_known = [
        F.when((typed[name].isNull() & raw[name].isNotNull()) | lost.get(name, F.lit(False)), F.lit(name))
        for name in known
    ]
    blamed = F.concat(F.col(UNKNOWN_KEYS), F.array_compact(F.array(*blamed_known)))
    # Drift keys present in the line, from the schema parse: no map parse needed for them.
    drift_entries = F.filter(
        F.array(*[F.struct(F.lit(key).alias("k"), F.col(f"_parsed.`{key}`").alias("v")) for key in drift]),
        lambda entry: F.array_contains(F.col("_keys"), entry["k"]),
    )
    rescued_map = F.when(F.col("_map").isNotNull(), F.map_filter("_map", lambda k, _: F.array_contains(blamed, k)))
    if drift:
        rescued_map = rescued_map.otherwise(F.when(F.size(drift_entries) > 0, F.map_from_entries(drift_entries)))
    rescued = checked.select("*", rescued_map.alias("_rescued_map"))
    frame = rescued.select(
        *[F.when(~F.col("_is_corrupt") & ~lost.get(name, F.lit(False)), typed[name]).alias(name) for name in known],
        F.when(
            ~F.col("_is_corrupt") & F.col("_map").isNotNull(),
            # A wrong type deep inside a nested value cannot be blamed on a top-level key: keep the whole record.
            F.when(F.size("_rescued_map") > 0, F.to_json("_rescued_map")).otherwise(
                F.to_json(F.create_map(F.lit(RAW), F.col("_line")))
            ),
        )
        .when(~F.col("_is_corrupt") & F.col("_rescued_map").isNotNull(), F.to_json("_rescued_map"))
        .alias("_rescued_data"),
        F.when(F.col("_is_corrupt"), F.expr("make_valid_utf8(_line)")).alias("_corrupt_record"),
        "_source_file",
        "_file_size",
        "_file_modified_at",
        "_source_row",
        UNKNOWN_KEYS,
        *keep,
    )
    return _finish(frame, schema) if finish else frame


# --- CSV --------------------------------------------------------------------------------------------------


def read_csv(
    spark: SparkSession,
    files: list[FileInfo],
    schema: T.StructType,
    source: SourceConfig,
    sniffs: dict[str, Sniff],
) -> DataFrame:
    """CSV: files are grouped by header and encoding, read as strings by position (so no header name can clash
    with Spark's own), then cast to the schema's types. A value that does not cast, or casts with a loss, or a
    column the schema lacks, is rescued; a row with the wrong number of fields (or undecodable bytes) is a
    corrupt record."""
    groups: dict[tuple[tuple[str, ...], str], list[FileInfo]] = defaultdict(list)
    for file in files:
        header = csv_header(sniffs[file.uri], source) if source.csv.header else list(schema.fieldNames())
        groups[(tuple(header), sniffs[file.uri].encoding)].append(file)
    frames = [
        _read_csv_group(spark, group, list(header), encoding, schema, source)
        for (header, encoding), group in groups.items()
        if header
    ]
    return _union(frames) if frames else _empty(spark, schema)


def _read_csv_group(spark, files, header, encoding, schema, source) -> DataFrame:
    positions = [f"_c{index}" for index in range(len(header))]
    string_schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in positions] + [T.StructField(CORRUPT, T.StringType())]
    )
    raw = (
        spark.read.schema(string_schema)
        .options(
            header=source.csv.header,
            sep=source.csv.delimiter,
            quote=source.csv.quote,
            escape=source.csv.escape,
            encoding="UTF-16" if encoding.startswith("utf-16") else "UTF-8",
            multiLine=True,  # quoted newlines
            mode="PERMISSIVE",
            columnNameOfCorruptRecord=CORRUPT,
            enforceSchema=True,  # positions, not header names, map the columns
        )
        .csv(_paths(files))
        .select("*", *_metadata_columns(), _row_position())
    )
    joined = F.concat_ws(source.csv.delimiter, *[F.col(name) for name in positions])
    is_corrupt = F.col(CORRUPT).isNotNull() | joined.contains(REPLACEMENT_CHARACTER)
    values = {name: F.col(position) for name, position in zip(header, positions, strict=True)}
    return _typed_from_strings(raw, values, schema, is_corrupt, F.coalesce(F.col(CORRUPT), joined))


def _cast_from_text(text: Column, data_type: T.DataType) -> tuple[Column, Column]:
    """(typed value, whether the text fits only with a loss) for a value given as text."""
    if isinstance(data_type, T.DateType):
        return F.to_date(text, "yyyy-MM-dd"), F.lit(False)  # strict: a time of day is not dropped silently
    if isinstance(data_type, T.StructType | T.ArrayType | T.MapType):  # JSON text: a value that does not come
        typed = F.from_json(text, data_type)  # back as the same text lost part of itself, and is rescued whole
        return typed, F.to_json(typed) != text
    typed = text.try_cast(data_type)
    if isinstance(data_type, T.DecimalType):
        return typed, _lossy_decimal(text, typed, data_type)
    if isinstance(data_type, T.DoubleType | T.FloatType):
        return typed, _overflowed(typed, _written_nonfinite(text))
    return typed, F.lit(False)


def _typed_from_strings(
    raw: DataFrame, values: dict[str, Column], schema: T.StructType, is_corrupt, corrupt_text, exact=frozenset()
):
    """Cast text columns (name -> column of the raw frame) to the schema; rescue what does not cast, what casts
    with a loss, and what the schema does not know. The columns named in `exact` are already of their type."""
    known = {field.name: field.dataType for field in schema.fields}
    typed, lost = {}, {}
    for name, data_type in known.items():
        if name in exact:
            typed[name], lost[name] = values[name], F.lit(False)
        elif name in values and data_type != T.StringType():
            typed[name], lost[name] = _cast_from_text(values[name], data_type)
            lost[name] = F.coalesce(lost[name], F.lit(False))
        else:
            typed[name], lost[name] = values.get(name, F.lit(None)), F.lit(False)
    entries = []
    unknown = [name for name in values if name not in known]
    for name, text in values.items():
        if name in exact or (name in known and known[name] == T.StringType()):
            continue
        bad = text.isNotNull() & (typed[name].isNull() | lost[name]) if name in known else text.isNotNull()
        entries.append(F.when(bad, F.struct(F.lit(name).alias("k"), text.alias("v"))))
    if entries:
        pairs = F.array_compact(F.array(*entries))
        rescued = F.when(~is_corrupt & (F.size(pairs) > 0), F.to_json(F.map_from_entries(pairs)))
    else:
        rescued = F.lit(None).cast("string")
    present = F.array_compact(F.array(*[F.when(values[name].isNotNull(), F.lit(name)) for name in unknown]))
    frame = raw.select(
        *[F.when(~is_corrupt & ~lost[name], typed[name]).alias(name) for name in known],
        rescued.alias("_rescued_data"),
        F.when(is_corrupt, corrupt_text).alias("_corrupt_record"),
        "_source_file",
        "_file_size",
        "_file_modified_at",
        "_source_row",
        (F.when(~is_corrupt, present) if unknown else F.array().cast("array<string>")).alias(UNKNOWN_KEYS),
    )
    return _finish(frame, schema)


# --- Parquet ----------------------------------------------------------------------------------------------


def parquet_schemas(spark: SparkSession, files: list[FileInfo]) -> dict[str, T.StructType]:
    """Each Parquet file's own schema (footer only)."""
    return {file.uri: spark.read.parquet(escape_glob(file.path)).schema for file in files}


def read_parquet(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """Parquet files grouped by their own schema; columns of the schema's type are read as they are, columns of
    another type are cast (rescued when they do not cast, or cast with a loss), columns the schema lacks are
    rescued."""
    by_schema: dict[str, list[FileInfo]] = defaultdict(list)
    file_schemas = parquet_schemas(spark, files)
    for file in files:
        by_schema[file_schemas[file.uri].json()].append(file)
    types = {field.name: field.dataType for field in schema.fields}
    frames = []
    for schema_json, group in by_schema.items():
        file_schema = T.StructType.fromJson(json.loads(schema_json))
        exact = {field.name for field in file_schema.fields if types.get(field.name) == field.dataType}
        raw = spark.read.parquet(*_paths(group)).select(
            *[
                (F.col(f"`{field.name}`") if field.name in exact else _as_text(field)).alias(f"_c{index}")
                for index, field in enumerate(file_schema.fields)
            ],
            *_metadata_columns(),
            (F.col("_metadata.row_index") + 1).alias("_source_row"),
        )
        values = {field.name: F.col(f"_c{index}") for index, field in enumerate(file_schema.fields)}
        frames.append(_typed_from_strings(raw, values, schema, F.lit(False), F.lit(None).cast("string"), exact))
    return _union(frames) if frames else _empty(spark, schema)


def _as_text(field: T.StructField) -> Column:
    """Every column rendered as text once: casting from text gives one rule for every type pair."""
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
    extra = T.StructType(
        [
            T.StructField("_rescued_data", T.StringType()),
            T.StructField("_corrupt_record", T.StringType()),
            T.StructField("_source_file", T.StringType()),
            T.StructField("_file_size", T.LongType()),
            T.StructField("_file_modified_at", T.TimestampType()),
            T.StructField("_source_row", T.LongType()),
            T.StructField(UNKNOWN_KEYS, T.ArrayType(T.StringType())),
        ]
    )
    return spark.createDataFrame([], T.StructType(schema.fields + extra.fields))


def read_files(
    spark: SparkSession,
    source: SourceConfig,
    files: list[FileInfo],
    schema: T.StructType,
    sniffs: dict[str, Sniff],
    *,
    fast: bool = True,
) -> DataFrame:
    """The bronze rows of `files` (whose sniffs found no problem). `fast`: see `read_json`."""
    if source.format == "json":
        return read_json(spark, files, schema, sniffs, fast=fast)
    if source.format == "csv":
        return read_csv(spark, files, schema, source, sniffs)
    return read_parquet(spark, files, schema)


def incoming_columns(spark: SparkSession, source: SourceConfig, files: list[FileInfo], sniffs) -> list[str]:
    """Column names present in `files`, in order of appearance (a full key scan for JSON)."""
    names: list[str] = []
    if source.format == "csv":
        for file in files:
            names += [name for name in csv_header(sniffs[file.uri], source) if name not in names]
        return names
    if source.format == "parquet":
        for file_schema in parquet_schemas(spark, files).values():
            names += [name for name in file_schema.fieldNames() if name not in names]
        return names
    rows = (
        _json_lines(spark, files, sniffs)
        .select(F.posexplode(F.expr(f"json_object_keys(regexp_replace(value, '^{BOM}', ''))")))
        .groupBy("col")
        .agg(F.min("pos").alias("pos"))
        .orderBy("pos", "col")
        .collect()
    )
    return [row.col for row in rows]
