"""Reading JSON lines with rescued data: which way keeps read_json's semantics, and which of those is cheapest.

    PYTHONPATH=. LAKEHOUSE_JARS=.lakehouse/jars .venv/bin/python bench/rescue.py                # ~12 min, 2 cores
    PYTHONPATH=. LAKEHOUSE_JARS=.lakehouse/jars .venv/bin/python bench/rescue.py --semantics-only   # ~1 min
    PYTHONPATH=. LAKEHOUSE_JARS=.lakehouse/jars .venv/bin/python bench/rescue.py --mb 50         # a quiet machine

Everything runs in one process and one Spark session started by runtime.spark.get_spark (the project's settings),
on a temporary state folder deleted at the end. The candidates, each returning read_json's bronze shape:

    plain  the baseline: spark.read.schema(S).json(files), no rescue
    a      ingestion.readers.read_json: text + from_json + json_object_keys, map parse of flagged lines
    b      the JSON source with a corrupt-record column; lines it flags rescued from their raw text
    b2     a byte-level key pre-scan of each file; b for clean files, a for the others
    c      text + try_parse_json (VARIANT), type-checked try_variant_get, keys from the variant
    d      the JSON source with singleVariantColumn, then as c
    e      a without the key scan for files whose first lines show declared keys only
    f      text + from_json, a regular expression picks the lines that need the key scan and map parse
    g      a, with the unknown keys seen in the files' heads parsed by from_json as extra string fields

Three parts:

1. Semantics. Every candidate reads a small corpus (one file per rule, plus a file whose schema drifts after 250
   lines) and is compared with read_json: rows per file, data columns, `_rescued_data` as parsed JSON,
   `_corrupt_record`. The differences are listed per corpus file.
2. Speed. Generated heart-rate readings (deterministic; 4 files of --mb MB each), in two variants: `common` (only
   declared keys) and `drift` (every line has one key the schema lacks); both with 0.5% values of the wrong type and
   0.01% malformed lines. Each candidate reads them, writes a new Delta table and counts the rows per file from it
   (end to end), and, separately, reads them into Spark's `noop` sink (read only). Every repetition runs every
   candidate once, in rotated order; each ratio is taken against the baseline of the same repetition. Cost is
   measured as the Spark JVM's CPU time (from /proc; other work on the machine does not inflate it) and wall time.
3. Delta statistics on long strings. (a) and the cheapest exact candidate write one 8 MB rescued value followed by
   small rows in one task, and a file of 200,000 small rows, into tables with Delta's default statistics and with
   `delta.dataSkippingStatsColumns` set to the data columns only.

It prints a Markdown section for BENCHMARKS.md and writes it to bench/rescue_results.md (--output). The default
size (4 x 12 MB per variant) keeps a run near 12 minutes on 2 shared cores; the ratios read-only are size-independent,
the end-to-end ones include Delta's fixed cost per write (a few CPU seconds), which weighs less with larger files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pyspark.sql import Column, DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

from ingestion.discovery import FileInfo, list_files  # noqa: E402
from ingestion.readers import (  # noqa: E402
    BOM,
    CORRUPT,
    RAW,
    _finish,
    _metadata_columns,
    _paths,
    json_head_keys,
    read_json,
)

MB = 1024 * 1024
SCHEMA = T.StructType(
    [
        T.StructField("device_id", T.LongType()),
        T.StructField("time", T.TimestampType()),
        T.StructField("heartrate", T.DoubleType()),
        T.StructField("signal_quality", T.DoubleType()),
        T.StructField("firmware", T.StringType()),
        T.StructField("battery_pct", T.LongType()),
    ]
)
KNOWN = SCHEMA.fieldNames()
DRIFT_KEY = "skin_temp_c"  # in every `drift` line, not in SCHEMA
WRONG_TYPE_SHARE, MALFORMED_SHARE = 0.005, 0.0001
WRONG_TYPES = [("heartrate", '"high"'), ("device_id", '"17a"'), ("time", '"yesterday"'), ("battery_pct", "87.5")]
HEAD_LINES = 200  # the first lines of a file that (e) and (g) look at, as json_head_keys does

# A line that may hold a top-level key the schema lacks. A key is a quoted string right after `{` or `,` (plus
# whitespace) and before `:`; inside a JSON string every `"` is escaped, so `[{,]\s*"` cannot start inside one.
# Nested keys and odd text only make the check say "maybe", never "no". `'`, `NaN` and `Inf` are there because
# from_json accepts single quotes and NaN/Infinity tokens, while json_object_keys (which decides "corrupt" in
# read_json) rejects the latter: those lines take the exact path too.
NON_NUMBER_TOKENS = "NaN|Inf|INF"  # Jackson's NaN, Infinity, INF (signed or not), accepted by from_json only
SUSPECT = (
    r"""[{,]\s*"(?!(?:"""
    + "|".join(rf"\Q{name}\E" for name in KNOWN)
    + r""")"\s*:)(?:[^"\\]|\\.)*"\s*:|'|"""
    + NON_NUMBER_TOKENS
)
NON_NUMBERS = ["NaN", "Infinity", "+Infinity", "-Infinity", "INF", "+INF", "-INF"]  # strings from_json reads as double


# --- candidates -------------------------------------------------------------------------------------------
# Each takes (spark, files, schema) and returns the bronze shape of read_json: data columns, _rescued_data,
# _corrupt_record, _source_file, _file_size, _file_modified_at (the baseline only adds _source_file).


def read_plain(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """The baseline: the JSON data source with the declared schema, no rescue."""
    return spark.read.schema(schema).json(_paths(files)).select("*", F.col("_metadata.file_path").alias("_source_file"))


def _lines(spark: SparkSession, files: list[FileInfo]) -> DataFrame:
    """Non-blank lines as read_json sees them: `_line` without a BOM, `_valid_utf8`, and the lineage columns."""
    value = F.col("value")
    return (
        spark.read.text(_paths(files))
        .select("value", *_metadata_columns())
        .where(F.length(F.trim(value)) > 0)
        .select(
            F.when(value.startswith(BOM), F.expr(f"substring(value, {len(BOM) + 1})")).otherwise(value).alias("_line"),
            F.expr("is_valid_utf8(value)").alias("_valid_utf8"),
            "_source_file",
            "_file_size",
            "_file_modified_at",
        )
    )


def _parsed(frame: DataFrame, schema: T.StructType) -> DataFrame:
    parse_schema = T.StructType([*schema.fields, T.StructField(CORRUPT, T.StringType())])
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    return frame.select("*", F.from_json("_line", parse_schema, options).alias("_parsed"))


def _rescued(
    frame: DataFrame,
    schema: T.StructType,
    typed: Callable[[str], Column],
    flagged: Column,
    bad_parse: Column,
    extras: list[str] | None = None,
) -> DataFrame:
    """read_json's rescue, spent on the `flagged` lines only; an unflagged line must be a JSON object whose keys
    are declared or in `extras`, and whose declared values all fit. `frame` has `_line` (raw text; may be NULL when
    not flagged), `_valid_utf8` and the lineage columns; `typed(name)` is a declared column as parsed, `bad_parse`
    says the typed parse failed somewhere. When `frame` already has `_keys` (every line's json_object_keys),
    `_parsed` may hold `extras` as strings (as the map<string,string> parse would give them): an unflagged line's
    rescued data is then its extras, taken from the struct."""
    if "_keys" in frame.columns:
        keys = frame.select("*", bad_parse.alias("_bad_parse"), flagged.alias("_flagged"))
    else:
        keys = frame.select(
            "*",
            bad_parse.alias("_bad_parse"),
            F.when(flagged, F.expr("json_object_keys(_line)")).alias("_keys"),
            flagged.alias("_flagged"),
        )
    is_corrupt = ~F.col("_valid_utf8") | (F.col("_keys").isNull() & F.col("_flagged"))
    unknown = F.array_except(F.col("_keys"), F.array(*[F.lit(name) for name in KNOWN]))
    line_map = F.when(
        ~F.col("_is_corrupt") & ((F.size("_unknown") > 0) | F.col("_bad_parse")),
        F.from_json("_line", T.MapType(T.StringType(), T.StringType())),
    )
    if extras:
        present = F.create_map(*[part for name in extras for part in (F.lit(name), F.col(f"_parsed.`{name}`"))])
        extra_map = F.map_filter(present, lambda k, _: F.array_contains(F.col("_keys"), k))
        line_map = F.when(F.col("_flagged"), line_map).otherwise(F.when(F.size(extra_map) > 0, extra_map))
    checked = keys.select("*", is_corrupt.alias("_is_corrupt"), unknown.alias("_unknown")).select(
        "*", line_map.alias("_map")
    )
    return _bronze_tail(checked, schema, typed)


def _bronze_tail(frame: DataFrame, schema: T.StructType, typed: Callable[[str], Column]) -> DataFrame:
    """The end of read_json, unchanged: blame, rescue, null the data of corrupt lines."""
    known = schema.fieldNames()
    mistyped = [F.when(typed(name).isNull() & F.col("_map").getItem(name).isNotNull(), F.lit(name)) for name in known]
    blamed = F.concat(F.col("_unknown"), F.array_compact(F.array(*mistyped)))
    rescued = frame.select("*", F.map_filter("_map", lambda k, _: F.array_contains(blamed, k)).alias("_rescued_map"))
    out = rescued.select(
        *[F.when(~F.col("_is_corrupt"), typed(name)).alias(name) for name in known],
        F.when(
            F.col("_map").isNotNull(),
            F.when(F.size("_rescued_map") > 0, F.to_json("_rescued_map")).otherwise(
                F.to_json(F.create_map(F.lit(RAW), F.col("_line")))
            ),
        ).alias("_rescued_data"),
        F.when(F.col("_is_corrupt"), F.expr("make_valid_utf8(_line)")).alias("_corrupt_record"),
        "_source_file",
        "_file_size",
        "_file_modified_at",
    )
    return _finish(out, schema)


def _parse_failed() -> Column:
    return F.col("_parsed").isNull() | F.col(f"_parsed.{CORRUPT}").isNotNull()


def _typed_parsed(name: str) -> Column:
    return F.col(f"_parsed.`{name}`")


def read_json_source(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """(b) The JSON data source with a corrupt-record column; lines it flags are rescued from that raw text.
    A well-typed line's unknown keys are dropped: the source never says they were there."""
    bad = "_bad_line"
    source_schema = T.StructType([*schema.fields, T.StructField(bad, T.StringType())])
    frame = (
        spark.read.schema(source_schema)
        .options(mode="PERMISSIVE", columnNameOfCorruptRecord=bad)
        .json(_paths(files))
        .select("*", *_metadata_columns())
        .select("*", F.col(bad).alias("_line"), F.lit(True).alias("_valid_utf8"))
    )
    flagged = F.col(bad).isNotNull()
    return _rescued(frame, schema, lambda name: F.col(f"`{name}`"), flagged, flagged)


def suspect_files(spark: SparkSession, files: list[FileInfo]) -> set[str]:
    """URIs of the files with at least one line that may hold an unknown key, or invalid UTF-8 (one text scan)."""
    value = F.col("value")
    suspect = ~only_keys(value, KNOWN) | ~F.expr("is_valid_utf8(value)") | value.startswith(BOM)
    rows = (
        spark.read.text(_paths(files))
        .where(suspect)
        .select(F.col("_metadata.file_path").alias("file"))
        .distinct()
        .collect()
    )
    return {row.file for row in rows}


def read_prescanned(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """(b2) A pre-scan of the text; (b) for files without a suspect line, read_json for the others."""
    suspects = suspect_files(spark, files)
    clean = [file for file in files if file.uri not in suspects]
    dirty = [file for file in files if file.uri in suspects]
    frames = [read_json_source(spark, clean, schema)] if clean else []
    return _union(frames + ([read_json(spark, dirty, schema)] if dirty else []))


def read_known_heads(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """(e) read_json, minus the key scan for files whose first lines have declared keys only. A key that first
    appears after a file's head is dropped, as are lines json_object_keys rejects but from_json accepts."""
    clean = [file for file in files if set(json_head_keys(spark, [file], HEAD_LINES)) <= set(KNOWN)]
    dirty = [file for file in files if file not in clean]
    frames = [read_json(spark, dirty, schema)] if dirty else []
    if clean:
        parsed = _parsed(_lines(spark, clean), schema)
        flagged = ~F.col("_valid_utf8") | _parse_failed()
        frames.append(_rescued(parsed, schema, _typed_parsed, flagged, _parse_failed()))
    return _union(frames)


def read_suspects(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """(f) text + from_json; a regular expression picks the lines that may hold an unknown key, and only those,
    with the lines from_json flags, pay for json_object_keys and the map parse."""
    parsed = _parsed(_lines(spark, files), schema)
    flagged = ~F.col("_valid_utf8") | _parse_failed() | F.col("_line").rlike(SUSPECT)
    return _rescued(parsed, schema, _typed_parsed, flagged, _parse_failed())


def only_keys(line: Column, names: list[str]) -> Column:
    """True only when every key of the JSON object in `line` (at any depth) is one of `names`; byte-level
    substring operations, no regular expression, no parse. Conservative: FALSE sends a line to the exact path.

    With no backslash in the line, every `"` delimits a string, so a string cannot contain `"`; with no whitespace
    before a `:`, every key ends in `":` and nothing else does. Removing each `"name":` then leaves a `":` exactly
    when some key is not in `names`. Single quotes and NaN/Infinity tokens are refused because from_json accepts
    them (the first hides keys from this check; json_object_keys, which decides "corrupt", rejects the second)."""
    refused = ["\\", "'", "NaN", "Inf", "INF", " :", "\t:", "\r:"]
    rest = line
    for name in names:
        rest = F.replace(rest, F.lit(f'"{name}":'), F.lit(""))
    clean = F.instr(rest, '":') == 0
    for text in refused:
        clean = clean & ~line.contains(text)
    return clean


def head_extras(spark: SparkSession, files: list[FileInfo]) -> list[str]:
    """Keys the schema lacks, seen in the files' first lines, that can be parsed as extra string fields: written
    without escapes and not clashing by case with another name (Spark resolves struct fields case-insensitively)."""
    taken = {name.lower() for name in [*KNOWN, CORRUPT]}
    extras = []
    for key in json_head_keys(spark, files, HEAD_LINES):
        if key.lower() not in taken and json.dumps(key)[1:-1] == key:
            extras.append(key)
            taken.add(key.lower())
    return extras


def read_head_extras(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """(g) read_json, with the unknown keys the files' heads show parsed by from_json as extra string fields:
    a line whose keys are all declared or such extras, and whose values fit, gets its rescued data from the parsed
    struct instead of a second, map<string,string>, parse. json_object_keys still runs on every line."""
    extras = head_extras(spark, files)
    extended = T.StructType([*schema.fields, *[T.StructField(name, T.StringType()) for name in extras]])
    parsed = _parsed(_lines(spark, files), extended).select("*", F.expr("json_object_keys(_line)").alias("_keys"))
    expected = F.array(*[F.lit(name) for name in KNOWN + extras])
    flagged = (
        ~F.col("_valid_utf8")
        | F.col("_keys").isNull()
        | _parse_failed()
        | (F.size(F.array_except(F.col("_keys"), expected)) > 0)
    )
    return _rescued(parsed, schema, _typed_parsed, flagged, _parse_failed(), extras)


def _accepts(value: Column, data_type: T.DataType) -> Column:
    """Whether from_json would take this VARIANT value for `data_type` (variant casts are far more lenient:
    "71.5" -> 71.5, 71.5 -> bigint 71, true -> 1.0)."""
    kind = F.schema_of_variant(value)
    if isinstance(data_type, T.LongType):
        return kind == "BIGINT"
    if isinstance(data_type, T.DoubleType):
        numeric = kind.isin("BIGINT", "DOUBLE") | kind.startswith("DECIMAL")
        return numeric | ((kind == "STRING") & F.try_variant_get(value, "$", "string").isin(NON_NUMBERS))
    if isinstance(data_type, T.TimestampType):
        return kind.isin("STRING", "BIGINT")  # from_json reads an integer as seconds since the epoch
    return F.lit(True)


def _from_variant(frame: DataFrame, schema: T.StructType, rescue_map: Column, strict: bool) -> DataFrame:
    """Bronze rows from `_v` (a VARIANT, NULL when the line did not parse). `frame` also has `_line` (raw text,
    may be NULL), `_valid_utf8` and the lineage columns; `rescue_map` gives the line as map<string,string>."""
    fields = frame.select("*", F.expr("try_variant_get(_v, '$', 'map<string,variant>')").alias("_fields"))

    def value(name: str) -> Column:
        return F.col("_fields").getItem(name)

    typed = []
    for field in schema.fields:
        cast = F.try_variant_get(value(field.name), "$", field.dataType.simpleString())
        typed.append(F.when(_accepts(value(field.name), field.dataType), cast) if strict else cast)
    extracted = fields.select(
        "*", *[column.alias(f"_typed_{f.name}") for column, f in zip(typed, schema.fields, strict=True)]
    )
    mistyped = [
        F.when(
            value(name).isNotNull() & ~F.is_variant_null(value(name)) & F.col(f"_typed_{name}").isNull(), F.lit(name)
        )
        for name in KNOWN
    ]
    is_corrupt = ~F.col("_valid_utf8") | F.col("_fields").isNull()
    unknown = F.array_except(F.map_keys("_fields"), F.array(*[F.lit(name) for name in KNOWN]))
    checked = extracted.select(
        "*",
        is_corrupt.alias("_is_corrupt"),
        unknown.alias("_unknown"),
        F.array_compact(F.array(*mistyped)).alias("_mistyped"),
    )
    needs_rescue = ~F.col("_is_corrupt") & ((F.size("_unknown") > 0) | (F.size("_mistyped") > 0))
    blamed = F.concat(F.col("_unknown"), F.col("_mistyped"))
    rescued = checked.select("*", F.when(needs_rescue, rescue_map).alias("_map")).select(
        "*", F.map_filter("_map", lambda k, _: F.array_contains(blamed, k)).alias("_rescued_map")
    )
    text = F.coalesce(F.col("_line"), F.to_json("_v"))
    out = rescued.select(
        *[F.when(~F.col("_is_corrupt"), F.col(f"_typed_{name}")).alias(name) for name in KNOWN],
        F.when(
            F.col("_map").isNotNull(),
            F.when(F.size("_rescued_map") > 0, F.to_json("_rescued_map")).otherwise(
                F.to_json(F.create_map(F.lit(RAW), text))
            ),
        ).alias("_rescued_data"),
        F.when(F.col("_is_corrupt"), F.expr("make_valid_utf8(coalesce(_line, to_json(_v)))")).alias("_corrupt_record"),
        "_source_file",
        "_file_size",
        "_file_modified_at",
    )
    return _finish(out, schema)


def read_parse_json(spark: SparkSession, files: list[FileInfo], schema: T.StructType, strict: bool = True):
    """(c) text + try_parse_json (VARIANT); each declared field read with try_variant_get after a type check;
    unknown keys from the variant's keys; rescued values from the text, as read_json does."""
    frame = _lines(spark, files).select("*", F.expr("try_parse_json(_line)").alias("_v"))
    return _from_variant(frame, schema, F.from_json("_line", T.MapType(T.StringType(), T.StringType())), strict)


def read_parse_json_naive(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """(c0) as (c) without the type check: try_variant_get's own casts decide (semantics check only)."""
    return read_parse_json(spark, files, schema, strict=False)


def read_single_variant(spark: SparkSession, files: list[FileInfo], schema: T.StructType) -> DataFrame:
    """(d) The JSON data source with singleVariantColumn (the whole line as one VARIANT) plus `_corrupt_record`
    (Spark 4.2 accepts only that name here); then as (c), rescued values from the variant."""
    frame = (
        spark.read.schema("_v variant, _corrupt_record string")
        .option("singleVariantColumn", "_v")
        .json(_paths(files))
        .select(
            "_v",
            F.col("_corrupt_record").alias("_line"),
            F.lit(True).alias("_valid_utf8"),
            *_metadata_columns(),
        )
    )
    return _from_variant(frame, schema, F.expr("try_variant_get(_v, '$', 'map<string,string>')"), strict=True)


def _union(frames: list[DataFrame]) -> DataFrame:
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


@dataclass(frozen=True)
class Candidate:
    key: str
    label: str
    read: Callable[[SparkSession, list[FileInfo], T.StructType], DataFrame]
    timed: bool = True


BASELINE = Candidate("plain", "`spark.read.schema(S).json(files)` (baseline, no rescue)", read_plain)
CANDIDATES = [
    BASELINE,
    Candidate("a", "(a) current `read_json`: text + from_json + json_object_keys", read_json),
    Candidate("b", "(b) JSON source + corrupt column, rescue from the corrupt text", read_json_source),
    Candidate("b2", "(b2) byte-level key pre-scan per file; (b) for clean files, (a) for the rest", read_prescanned),
    Candidate("c", "(c) text + try_parse_json, type-checked try_variant_get, keys from the variant", read_parse_json),
    Candidate("c0", "(c0) as (c), try_variant_get's casts unchecked", read_parse_json_naive, timed=False),
    Candidate("d", "(d) JSON source `singleVariantColumn`, then as (c)", read_single_variant),
    Candidate(
        "e", f"(e) (a) without the key scan for files whose first {HEAD_LINES} lines look clean", read_known_heads
    ),
    Candidate(
        "f", "(f) text + from_json + regex unknown-key check; key scan + map only on flagged lines", read_suspects
    ),
    Candidate("g", "(g) (a), the unknown keys seen in the files' heads parsed as string fields", read_head_extras),
]

CANDIDATES_BY_KEY = {candidate.key: candidate for candidate in CANDIDATES}

# --- data -------------------------------------------------------------------------------------------------


def reading(rng: random.Random, second: int, drift: bool, dirt: bool = True) -> str:
    """One heart-rate reading as a JSON line (the way Python's json.dumps spaces it)."""
    day, rest = divmod(second, 86400)
    fields = [
        ("device_id", str(rng.randrange(1, 5000))),
        ("time", f'"2026-01-{5 + day % 20:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}Z"'),
        ("heartrate", f"{rng.uniform(45, 190):.1f}"),
        ("signal_quality", f"{rng.random():.2f}"),
        ("firmware", f'"hr-2.{rng.randrange(10)}.{rng.randrange(30)}"'),
        ("battery_pct", str(rng.randrange(101))),
    ]
    if drift:
        fields.insert(3, (DRIFT_KEY, f"{rng.uniform(30, 37):.1f}"))
    roll = rng.random() if dirt else 1.0
    if roll < WRONG_TYPE_SHARE:
        name, bad = WRONG_TYPES[rng.randrange(len(WRONG_TYPES))]
        fields = [(key, bad if key == name else value) for key, value in fields]
    line = "{" + ", ".join(f'"{key}": {value}' for key, value in fields) + "}"
    if WRONG_TYPE_SHARE <= roll < WRONG_TYPE_SHARE + MALFORMED_SHARE:
        line = line[: len(line) // 2]
    return line


def write_readings(path: Path, seed: int, size: int, drift: bool) -> int:
    """A file of about `size` bytes of readings; returns its number of lines."""
    rng = random.Random(seed)
    lines = written = 0
    with path.open("w") as out:
        while written < size:
            chunk = "".join(reading(rng, lines + i, drift) + "\n" for i in range(10_000))
            out.write(chunk)
            written += len(chunk)
            lines += 10_000
    return lines


@dataclass
class DataSet:
    name: str
    files: list[FileInfo]
    lines: dict[str, int]  # per file URI

    @property
    def size(self) -> int:
        return sum(file.size for file in self.files)


def generate(spark: SparkSession, folder: Path, name: str, count: int, size: int, drift: bool) -> DataSet:
    folder.mkdir(parents=True)
    lines = {}
    for index in range(count):
        path = folder / f"readings-{index}.json"
        lines[path.name] = write_readings(path, seed=1000 * drift + index, size=size, drift=drift)
    files = list_files(spark, str(folder))
    return DataSet(name, files, {file.uri: lines[file.path.rsplit("/", 1)[1]] for file in files})


# --- semantics --------------------------------------------------------------------------------------------

CLEAN = (
    '{"device_id": 1, "time": "2026-01-05T10:00:03Z", "heartrate": 71.5, "signal_quality": 0.93, '
    '"firmware": "hr-2.4.1", "battery_pct": 80}'
)
CORPUS: list[tuple[str, bytes]] = [
    ("clean line", CLEAN.encode()),
    ("clean line after a BOM", (BOM + CLEAN).encode()),
    ("odd spacing, missing fields, integer for a double", b'{ "device_id" : 2 ,"heartrate":72 }'),
    ("wrong type: text for a double", b'{"device_id": 3, "heartrate": "high", "signal_quality": 0.5}'),
    ("wrong type: numeric text for a double", b'{"device_id": 4, "heartrate": "71.5"}'),
    ("wrong type: fraction for a bigint", b'{"device_id": 5.0, "heartrate": 70}'),
    ("wrong type: bigint overflow", b'{"device_id": 6, "battery_pct": 99999999999999999999}'),
    ("wrong type: boolean for a double", b'{"device_id": 7, "signal_quality": true}'),
    ("wrong type: unparsable timestamp", b'{"device_id": 8, "time": "yesterday"}'),
    ("integer seconds for a timestamp", b'{"device_id": 9, "time": 1767607203}'),
    ("unknown key", b'{"device_id": 10, "skin_temp_c": 33.1, "heartrate": 70}'),
    ("unknown key with a nested value", b'{"device_id": 11, "extra": {"a": [1, {"b": null}]}}'),
    ("key differing by case only", b'{"device_id": 12, "HeartRate": 80}'),
    ("wrong type and unknown key", b'{"device_id": 13, "heartrate": "high", "skin_temp_c": 33.1}'),
    ("malformed: truncated", b'{"device_id": 14, "time": "2026-'),
    ("not an object: array", b'[{"device_id": 15}, 2]'),
    ("not an object: number", b"42"),
    ("not an object: null", b"null"),
    ("nested object and array for a string", b'{"device_id": 16, "firmware": {"channel": "beta", "build": [2, 4.50]}}'),
    ("numbers for a string", b'{"device_id": 17, "firmware": 3.141592653589793238}'),
    ("explicit nulls", b'{"device_id": 18, "heartrate": null, "firmware": null}'),
    ("duplicate key", b'{"device_id": 19, "device_id": 91, "heartrate": 70}'),
    ("empty object", b"{}"),
    ("escaped quote in an unknown key", b'{"device_id": 20, "a\\"heartrate": 1}'),
    ("key-like text in a string value", b'{"device_id": 21, "firmware": "x\\", \\"skin_temp_c\\": 1"}'),
    ("declared key spelled with a unicode escape", b'{"dev\\u0069ce_id": 22}'),
    ("trailing text after the object", b'{"device_id": 23} trailing'),
    ("invalid UTF-8 in a string", b'{"device_id": 24, "firmware": "\xff"}'),
    ("single-quoted unknown key", b"{'device_id': 25, 'skin_temp_c': 33.1}"),
    ("NaN token for a double", b'{"device_id": 26, "heartrate": NaN}'),
    ("-INF token for a double", b'{"device_id": 26, "heartrate": -INF}'),
    ("raw tab inside a string", b'{"device_id": 27, "firmware": "a\tb"}'),
    ("blank lines around a record", b'\n   \n{"device_id": 28}\n\n'),
    ("unknown key with a null value", b'{"device_id": 29, "skin_temp_c": null}'),
    ("unknown key with trailing zeros", b'{"device_id": 30, "skin_temp_c": 33.10, "heartrate": 70}'),
    ("unknown key spaced before its colon", b'{"device_id": 31, "skin_temp_c" : 33.1}'),
]
LATE_DRIFT = "unknown key first seen after line 250"


def write_corpus(folder: Path) -> dict[str, str]:
    """One file per rule (so per-file routing is exercised too) plus a file whose drift starts late; returns
    file name -> label."""
    folder.mkdir(parents=True)
    labels = {}
    for index, (label, line) in enumerate(CORPUS):
        name = f"rule-{index:02d}.json"
        (folder / name).write_bytes(line + b"\n")
        labels[name] = label
    rng = random.Random(7)
    clean = [reading(rng, second, drift=False, dirt=False) for second in range(250)]
    late = [*clean, reading(rng, 250, drift=True, dirt=False), *clean[:5]]
    (folder / "late-drift.json").write_text("\n".join(late) + "\n")
    labels["late-drift.json"] = LATE_DRIFT
    return labels


def _normalized(row) -> tuple:
    values = row.asDict()
    rescued = values["_rescued_data"]
    values["_rescued_data"] = json.dumps(json.loads(rescued), sort_keys=True) if rescued is not None else None
    return tuple(
        "NaN" if isinstance(values[name], float) and math.isnan(values[name]) else values[name]
        for name in [*KNOWN, "_rescued_data", "_corrupt_record"]
    )


def rows_by_file(frame: DataFrame) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for row in frame.collect():
        out.setdefault(row._source_file.rsplit("/", 1)[1], []).append(_normalized(row))
    return {name: sorted(rows, key=repr) for name, rows in out.items()}


def _show(row: tuple) -> str:
    shown = [
        f"{name}={value}"
        for name, value in zip([*KNOWN, "_rescued_data", "_corrupt_record"], row, strict=True)
        if value
    ]
    return ", ".join(shown) or "all NULL"


def semantic_differences(expected: dict[str, list[tuple]], actual: dict[str, list[tuple]], labels) -> list[str]:
    """One sentence per corpus file where the candidate's rows differ from read_json's."""
    differences = []
    for name, label in labels.items():
        want, got = expected.get(name, []), actual.get(name, [])
        if want == got:
            continue
        if len(want) != len(got):
            differences.append(f"{label}: {len(got)} rows instead of {len(want)}")
            continue
        pairs = [(w, g) for w, g in zip(want, got, strict=True) if w != g]
        differences.append(f"{label}: got `{_show(pairs[0][1])}`, read_json gives `{_show(pairs[0][0])}`")
    return differences


def check_semantics(spark: SparkSession, folder: Path) -> dict[str, list[str]]:
    """Differences per candidate over two batches: the whole corpus, and the late-drift file alone (whose head,
    alone, shows no unknown key)."""
    labels = write_corpus(folder)
    every = list_files(spark, str(folder))
    batches = [every, [file for file in every if file.path.endswith("late-drift.json")]]
    found: dict[str, list[str]] = {c.key: [] for c in CANDIDATES if c is not BASELINE}
    for number, files in enumerate(batches):
        names = {file.path.rsplit("/", 1)[1] for file in files}
        batch_labels = {
            name: label + (" (file read alone)" if number else "") for name, label in labels.items() if name in names
        }
        expected = rows_by_file(read_json(spark, files, SCHEMA))
        for key in found:
            got = rows_by_file(CANDIDATES_BY_KEY[key].read(spark, files, SCHEMA))
            found[key] += semantic_differences(expected, got, batch_labels)
    return found


# --- speed ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    wall: float  # seconds
    cpu: float  # CPU seconds of the Spark JVM, all threads: what the work costs, whatever else runs on the machine


class JvmClock:
    """CPU time of the Spark JVM (a child of this process) from /proc: robust to the other users of the cores,
    which stretch wall time but do not add to our CPU time."""

    def __init__(self) -> None:
        out = subprocess.run(["pgrep", "-P", str(os.getpid()), "java"], capture_output=True, text=True).stdout
        self.stat = Path(f"/proc/{out.split()[0]}/stat")
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu(self) -> float:
        fields = self.stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime

    def measure(self, action: Callable[[], object]) -> tuple[object, Cost]:
        cpu, wall = self.cpu(), time.perf_counter()
        result = action()
        return result, Cost(time.perf_counter() - wall, self.cpu() - cpu)


def run_once(spark: SparkSession, clock: JvmClock, candidate: Candidate, data: DataSet, mode: str, target: Path):
    """One read into the noop sink, or (mode `delta`) read + Delta write + rows per file counted from the table."""

    def action():
        frame = candidate.read(spark, data.files, SCHEMA)
        if mode == "noop":
            frame.write.format("noop").mode("overwrite").save()
            return None
        frame.write.format("delta").save(str(target))
        return spark.read.format("delta").load(str(target)).groupBy("_source_file").count().collect()

    counts, cost = clock.measure(action)
    if mode == "delta":
        shutil.rmtree(target)
        got = {row._source_file: row["count"] for row in counts}
        if got != data.lines:
            raise SystemExit(f"{candidate.key} on {data.name}: rows per file {got}, expected {data.lines}")
    return cost


MODES = ("delta", "noop")


def bench(spark: SparkSession, clock: JvmClock, datasets: list[DataSet], repeat: int, work: Path) -> dict:
    """costs[(data set, mode, candidate)] = one Cost per repetition; every repetition runs every candidate once,
    in an order rotated by one each time."""
    timed = [candidate for candidate in CANDIDATES if candidate.timed]
    # Warm-up, not recorded (JIT and code generation make a first run several times slower): the baseline end to
    # end on each data set, then every candidate read only on its first file.
    for data in datasets:
        run_once(spark, clock, BASELINE, data, "delta", work / "warm-up")
        for candidate in timed:
            candidate.read(spark, data.files[:1], SCHEMA).write.format("noop").mode("overwrite").save()
    costs: dict[tuple[str, str, str], list[Cost]] = {}
    for rep in range(repeat):
        order = timed[rep % len(timed) :] + timed[: rep % len(timed)]
        for data in datasets:
            for mode in MODES:
                for candidate in order:
                    cost = run_once(spark, clock, candidate, data, mode, work / f"{data.name}-{candidate.key}")
                    costs.setdefault((data.name, mode, candidate.key), []).append(cost)
                    print(
                        f"rep {rep + 1} {data.name:6} {mode:5} {candidate.key:5} "
                        f"cpu {cost.cpu:6.2f} s  wall {cost.wall:6.2f} s  load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
    return costs


def ratios(costs: dict, data: str, mode: str, key: str, against: str = "plain", metric: str = "cpu") -> list[float]:
    """Per repetition, the candidate's cost over the `against` candidate's in the same repetition."""
    ours, base = costs[(data, mode, key)], costs[(data, mode, against)]
    return [getattr(o, metric) / getattr(b, metric) for o, b in zip(ours, base, strict=True)]


# --- Delta statistics on long strings ---------------------------------------------------------------------

LONG_TAIL = 2_000  # small lines after the 8 MB value, in the same file and task


def write_stats_inputs(spark: SparkSession, folder: Path) -> dict[str, DataSet]:
    """`long`: a file starting with one 8 MB value under a key the schema lacks (so it lands in _rescued_data), then
    LONG_TAIL small lines, next to a file of 200,000 small lines; `small`: the 200,000 small lines alone."""
    rng = random.Random(11)
    small_dir, long_dir = folder / "small", folder / "long"
    small_dir.mkdir(parents=True)
    long_dir.mkdir(parents=True)
    small_lines = [reading(rng, second, drift=True, dirt=False) for second in range(200_000)]
    (small_dir / "small.json").write_text("\n".join(small_lines) + "\n")
    shutil.copy(small_dir / "small.json", long_dir / "small.json")
    # Spark splits files at max(4 MB, batch bytes / 4): with the 30 MB file beside it the long file is one split,
    # so the 8 MB value and the lines after it go through one task and one Delta file's statistics.
    head = '{"device_id": 1, "time": "2026-01-05T00:00:00Z", "blob": "' + "x" * (8 * MB) + '"}'
    (long_dir / "long.json").write_text("\n".join([head, *small_lines[:LONG_TAIL]]) + "\n")
    sets = {}
    for name, lines in [
        ("small", {"small.json": 200_000}),
        ("long", {"small.json": 200_000, "long.json": LONG_TAIL + 1}),
    ]:
        files = list_files(spark, str(folder / name))
        sets[name] = DataSet(name, files, {file.uri: lines[file.path.rsplit("/", 1)[1]] for file in files})
    return sets


def write_with_stats(
    spark: SparkSession, clock: JvmClock, candidate: Candidate, data: DataSet, target: Path, data_only: bool
) -> Cost:
    """Append the candidate's rows to a new Delta table, created with Delta's default statistics or with
    statistics on the data columns only; only the write is measured."""
    frame = candidate.read(spark, data.files, SCHEMA)
    columns = ", ".join(f"`{field.name}` {field.dataType.simpleString()}" for field in frame.schema.fields)
    properties = f"TBLPROPERTIES ('delta.dataSkippingStatsColumns' = '{','.join(KNOWN)}')" if data_only else ""
    spark.sql(f"CREATE TABLE delta.`{target}` ({columns}) USING delta {properties}")
    _, cost = clock.measure(lambda: frame.write.format("delta").mode("append").save(str(target)))
    shutil.rmtree(target)
    return cost


def bench_stats(spark: SparkSession, clock: JvmClock, candidates: list[Candidate], repeat: int, work: Path) -> dict:
    sets = write_stats_inputs(spark, work / "stats-input")
    costs: dict[tuple[str, str, bool], list[Cost]] = {}
    for _ in range(repeat):
        for data in sets.values():
            for candidate in candidates:
                for data_only in (False, True):
                    target = work / f"stats-{data.name}-{candidate.key}-{data_only}"
                    cost = write_with_stats(spark, clock, candidate, data, target, data_only)
                    costs.setdefault((data.name, candidate.key, data_only), []).append(cost)
                    print(
                        f"stats {data.name:5} {candidate.key:3} data-only={data_only!s:5} "
                        f"cpu {cost.cpu:6.2f} s  wall {cost.wall:6.2f} s",
                        flush=True,
                    )
    return costs


# --- report -----------------------------------------------------------------------------------------------


def machine() -> str:
    import pyspark

    from runtime.project import jar_cache_dir

    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    delta_jar = next(jar_cache_dir().glob("delta-spark_*.jar"), None)
    delta = delta_jar.stem.rsplit("-", 1)[1] if delta_jar else "?"
    return (
        f"{os.cpu_count()} cores, {memory_gb:.0f} GB, {platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}, {java}, pyspark {pyspark.__version__}, Delta {delta}, local[{os.cpu_count()}]"
    )


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _cpu(costs: list[Cost]) -> float:
    return _median([cost.cpu for cost in costs])


def _wall(costs: list[Cost]) -> float:
    return _median([cost.wall for cost in costs])


def winner(costs: dict, semantics: dict, datasets: list[DataSet]) -> str:
    """The candidate with read_json's semantics and the lowest end-to-end CPU ratio to the baseline, both data
    sets weighted alike (geometric mean)."""

    def score(key: str) -> float:
        return math.prod(_median(ratios(costs, d.name, "delta", key)) for d in datasets) ** (1 / len(datasets))

    exact = [c.key for c in CANDIDATES if c.timed and c is not BASELINE and not semantics[c.key]]
    return min(exact, key=score)


def _speed_table(data: DataSet, costs: dict, semantics: dict) -> list[str]:
    base_e2e, base_read = costs[(data.name, "delta", "plain")], costs[(data.name, "noop", "plain")]
    out = [
        f"`{data.name}` ({data.size / MB:,.0f} MB, {sum(data.lines.values()):,} lines): the baseline takes "
        f"{_cpu(base_e2e):.1f} CPU s / {_wall(base_e2e):.1f} s wall end to end, {_cpu(base_read):.1f} CPU s / "
        f"{_wall(base_read):.1f} s wall read only.",
        "",
        "| candidate | same rows as read_json | end to end, JVM CPU | / baseline | / (a) | wall | "
        "read only, JVM CPU | / baseline | wall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for candidate in CANDIDATES:
        if not candidate.timed:
            continue
        key = candidate.key
        same = "-" if candidate is BASELINE else ("yes" if not semantics[key] else f"no ({len(semantics[key])})")
        e2e, read = costs[(data.name, "delta", key)], costs[(data.name, "noop", key)]
        cells = [
            candidate.label,
            same,
            f"{_cpu(e2e):.1f} s",
            f"{_median(ratios(costs, data.name, 'delta', key)):.2f}",
            f"{_median(ratios(costs, data.name, 'delta', key, against='a')):.2f}",
            f"{_wall(e2e):.1f} s",
            f"{_cpu(read):.1f} s",
            f"{_median(ratios(costs, data.name, 'noop', key)):.2f}",
            f"{_wall(read):.1f} s",
        ]
        out.append("| " + " | ".join(cells) + " |")
    return [*out, ""]


def report(datasets: list[DataSet], costs: dict, semantics: dict, stats: dict, best: str, run: dict) -> str:
    labels = {c.key: c.label for c in CANDIDATES}
    out = [
        f"### Reading JSON lines with rescued data: candidates, {datetime.now(timezone.utc):%Y-%m-%d}",
        "",
        f"Machine: {machine()}. Load average {run['load'][0]:.1f} at the start, {run['load'][1]:.1f} at the end "
        f"(the cores were shared with other work). `bench/rescue.py --files {run['files']} --mb {run['mb']:g} "
        f"--repeat {run['repeat']}`, {run['elapsed'] / 60:.0f} min. Medians of {run['repeat']} repetitions; each "
        "ratio is taken against the baseline (or (a)) of the same repetition, then the median is taken. JVM CPU = "
        "CPU seconds of the Spark JVM, which other users of the machine do not inflate; wall = elapsed seconds.",
        "",
        "Data: heart-rate readings, six declared fields (bigint, timestamp, 2 double, string, bigint); `drift` lines "
        f"also carry `{DRIFT_KEY}`, which the schema lacks; both have {WRONG_TYPE_SHARE:.1%} values of the wrong type "
        f"and {MALFORMED_SHARE:.2%} malformed lines. End to end = read, write a new Delta table, count rows per "
        "file from it; read only = the same read into the `noop` sink.",
        "",
    ]
    for data in datasets:
        out += _speed_table(data, costs, semantics)
    out += [
        f"Fastest candidate with read_json's semantics: **{labels[best]}**.",
        "",
        "Semantic differences from read_json on the corpus (one file per rule, plus a file whose drift starts "
        "after line 250):",
        "",
    ]
    for candidate in CANDIDATES:
        if candidate is BASELINE:
            continue
        found = semantics[candidate.key]
        out.append(f"- {candidate.label}: " + ("none." if not found else f"{len(found)} differ:"))
        out += [f"    - {difference}" for difference in found]
    out += [
        "",
        f"Delta statistics on long strings: `delta.dataSkippingStatsColumns` = the {len(KNOWN)} data columns vs "
        "Delta's default (the first 32 columns, so `_rescued_data`, `_corrupt_record` and the lineage columns too). "
        "The Delta write only, medians:",
        "",
        "| input | candidate | default stats, JVM CPU | wall | data columns only, JVM CPU | wall | "
        "default / data only (CPU) |",
        "|---|---|---|---|---|---|---|",
    ]
    inputs = {
        "long": f"one 8 MB rescued value + {LONG_TAIL:,} small lines in one task, next to 200,000 small lines",
        "small": "200,000 small lines (each with a rescued key)",
    }
    for name, text in inputs.items():
        for key in dict.fromkeys(["a", best]):
            default, data_only = stats[(name, key, False)], stats[(name, key, True)]
            out.append(
                f"| {text} | ({key}) | {_cpu(default):.1f} s | {_wall(default):.1f} s | {_cpu(data_only):.1f} s | "
                f"{_wall(data_only):.1f} s | {_cpu(default) / _cpu(data_only):.2f} |"
            )
    per_row = {
        key: (_cpu(stats[("long", key, False)]) - _cpu(stats[("long", key, True)])) / LONG_TAIL * 1000
        for key in dict.fromkeys(["a", best])
    }
    out += [
        "",
        "With default statistics, each row after the 8 MB value in the same task costs "
        + " and ".join(f"{ms:.2f} CPU ms more with ({key})" for key, ms in per_row.items())
        + " than with data-column statistics: at the 128 MB splits of a large batch (~900,000 such rows), one long"
        " value near the start of a split would cost minutes of CPU. This fits the earlier thread dump (Delta's"
        " statistics copying the running maximum string once per row); per-row cost was measured at one tail"
        " length only.",
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=4, help="files per data set")
    parser.add_argument("--mb", type=float, default=12, help="size of each generated file, MB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "rescue_results.md")
    parser.add_argument("--semantics-only", action="store_true", help="print the corpus check and stop")
    args = parser.parse_args(argv)

    from runtime.spark import SparkSettings, get_spark

    started, load_start = time.perf_counter(), os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="rescue-bench-"))
    try:
        spark = get_spark(SparkSettings(state=work / "state"))
        # parse_json rejects a line that repeats a key; with this it keeps the last value, as from_json does.
        spark.conf.set("spark.sql.variant.allowDuplicateKeys", "true")
        semantics = check_semantics(spark, work / "corpus")
        if args.semantics_only:
            for key, found in semantics.items():
                print(f"{key}: " + ("same as read_json" if not found else "\n    " + "\n    ".join(found)))
            return 0
        clock = JvmClock()
        datasets = [
            generate(spark, work / "data" / name, name, args.files, int(args.mb * MB), drift=name == "drift")
            for name in ("common", "drift")
        ]
        costs = bench(spark, clock, datasets, args.repeat, work / "tables")
        best = winner(costs, semantics, datasets)
        compared = [CANDIDATES_BY_KEY[key] for key in dict.fromkeys(["a", best])]
        stats = bench_stats(spark, clock, compared, args.repeat, work)
        run = {
            "files": args.files,
            "mb": args.mb,
            "repeat": args.repeat,
            "load": (load_start, os.getloadavg()[0]),
            "elapsed": time.perf_counter() - started,
        }
        section = report(datasets, costs, semantics, stats, best, run)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(section)
    args.output.write_text(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
