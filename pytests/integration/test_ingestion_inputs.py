"""The bad-input corpus: every case ends with its records either in bronze (typed, rescued or quarantined as a
corrupt record) or in a failed transfer-log row naming the file and cause, and per-file counts reconcile with
the records the test itself wrote."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

pytestmark = pytest.mark.integration

SCHEMA = {"id": "bigint", "name": "string", "score": "double"}


def _rows(lake, name, file):
    return lake.bronze(name).where(F.col("_source_file").endswith("/" + file)).orderBy("id").collect()


def test_json_corpus_reconciles_per_file(lake):
    name = lake.source("events", schema=SCHEMA, schema_evolution="rescue")
    long_name = "x" * 2_000_000
    corpus = {
        "good.json": ('{"id": 1, "name": "a", "score": 1.5}\n{"id": 2, "name": "b", "score": 2}\n', 2, 0, 0),
        "malformed.json": ('{"id": 3, "name": "c"}\n{"id": 4, "na\n[1, 2]\n"just a string"\n', 1, 0, 3),
        "bom.json": ('\ufeff{"id": 5, "name": "bom"}\n{"id": 6}\n', 2, 0, 0),
        "crlf.json": ('{"id": 7, "name": "crlf"}\r\n{"id": 8, "name": "z"}\r\n', 2, 0, 0),
        "blank_lines.json": ('\n{"id": 9}\n\n   \n{"id": 10}\n', 2, 0, 0),
        "long_line.json": (json.dumps({"id": 11, "name": long_name}) + "\n", 1, 0, 0),
        "nested.json": ('{"id": 12, "name": {"first": "n"}, "tags": [1, {"a": 2}]}\n', 1, 1, 0),
        "wrong_types.json": ('{"id": "thirteen", "name": "w", "score": "high"}\n{"id": 14, "score": true}\n', 2, 2, 0),
        "extra_missing.json": ('{"id": 15, "extra": {"deep": [1]}, "more": null}\n{"name": "no id"}\n', 2, 1, 0),
        "case.json": ('{"ID": 16, "Name": "upper", "id": 17}\n', 1, 1, 0),
        "duplicate_key.json": ('{"id": 18, "id": 19}\n', 1, 0, 0),
        "empty.json": ("", 0, 0, 0),
        "control_character.json": ('{"id": 24, "name": "a\tb"}\n', 0, 0, 1),  # a raw tab: not valid JSON
    }
    for file, (content, *_expected) in corpus.items():
        lake.write(f"events/{file}", content)
    lake.write("events/non_utf8.json", b'{"id": 20, "name": "caf\xe9"}\n{"id": 21}\n')
    lake.write("events/gzipped.json.gz", '{"id": 22}\n{"id": 23}\n', gz=True)
    lake.write("events/_SUCCESS", "marker files are not data")
    lake.write("events/.hidden.json", '{"id": 99}\n')

    result = lake.run(name)

    assert result.ok, result.error or [(r.file.uri, r.error) for r in result.files if r.error]
    counts = lake.committed(name)
    for file, (_, written, rescued, quarantined) in corpus.items():
        assert counts[file] == (written + quarantined, written, rescued, quarantined), file
    assert counts["non_utf8.json"] == (2, 1, 0, 1)
    assert counts["gzipped.json.gz"] == (2, 2, 0, 0)
    assert "_SUCCESS" not in counts and ".hidden.json" not in counts
    # Bronze holds exactly what the log says, per file.
    assert lake.rows_per_file(name) == {f: c[0] for f, c in counts.items() if c[0]}

    malformed = [r._corrupt_record for r in _rows(lake, name, "malformed.json") if r._corrupt_record]
    assert malformed == ['{"id": 4, "na', "[1, 2]", '"just a string"']
    [bom, _] = _rows(lake, name, "bom.json")
    assert (bom.id, bom.name, bom._corrupt_record) == (5, "bom", None)
    assert [r.name for r in _rows(lake, name, "crlf.json")] == ["crlf", "z"]
    assert len(_rows(lake, name, "long_line.json")[0].name) == len(long_name)
    [nested] = _rows(lake, name, "nested.json")
    assert nested.name == '{"first":"n"}'  # an object where a string is declared is kept as its JSON text
    assert json.loads(nested._rescued_data) == {"tags": '[1,{"a":2}]'}
    wrong = {r.name: r for r in _rows(lake, name, "wrong_types.json")}
    assert wrong["w"].id is None and json.loads(wrong["w"]._rescued_data) == {"id": "thirteen", "score": "high"}
    assert json.loads(wrong[None]._rescued_data) == {"score": "true"}
    [extra, missing] = sorted(_rows(lake, name, "extra_missing.json"), key=lambda r: r.id or 0, reverse=True)
    # Unknown keys are kept even when null: the column's existence is information (addNewColumns acts on it).
    assert json.loads(extra._rescued_data) == {"extra": '{"deep":[1]}', "more": None}
    assert (missing.id, missing.name, missing._rescued_data) == (None, "no id", None)
    [case] = _rows(lake, name, "case.json")
    assert case.id == 17 and json.loads(case._rescued_data) == {"ID": "16", "Name": "upper"}
    assert _rows(lake, name, "duplicate_key.json")[0].id == 19  # last value wins, as in JSON parsers
    bad_bytes = [r for r in _rows(lake, name, "non_utf8.json") if r._corrupt_record]
    assert bad_bytes[0]._corrupt_record == '{"id": 20, "name": "caf\ufffd"}'


def test_truncated_gzip_fails_alone_with_its_name_and_cause(lake):
    name = lake.source("gz", schema=SCHEMA)
    whole = gzip.compress(b'{"id": 1}\n' * 1000)
    lake.write("gz/truncated.json.gz", whole[: len(whole) // 2])
    lake.write("gz/fine.json.gz", '{"id": 2}\n', gz=True)

    result = lake.run(name)

    assert not result.ok
    [failed] = [r for r in result.files if r.status == "failed"]
    assert failed.file.uri.endswith("truncated.json.gz")
    assert name in failed.error and "truncated.json.gz" in failed.error
    assert "EOF" in failed.error or "end of" in failed.error.lower()
    assert lake.committed(name) == {"fine.json.gz": (1, 1, 0, 0)}
    log = lake.log(name).where(F.col("status") == "failed").collect()
    assert len(log) == 1 and "truncated.json.gz" in log[0].error
    # A failure is never settled silently: the next run tries the file again and reports it again...
    again = lake.run(name)
    assert not again.ok and [(r.file.uri.rsplit("/", 1)[-1], r.status) for r in again.files] == [
        ("truncated.json.gz", "failed")
    ]
    # ... until a fixed upload of the file is ingested.
    lake.write("gz/truncated.json.gz", whole)
    assert lake.run(name).ok
    assert lake.committed(name)["truncated.json.gz"] == (1000, 1000, 0, 0)


def test_csv_corpus(lake):
    name = lake.source("csv", format="csv", schema=SCHEMA, schema_evolution="rescue")
    lake.write("csv/good.csv", "id,name,score\n1,a,1.5\n2,b,2\n")
    lake.write("csv/quoted_newline.csv", 'id,name,score\n3,"line one\nline two",3\n4,"with ""quotes"", and comma",4\n')
    lake.write("csv/field_count.csv", "id,name,score\n5,too,many,fields\n6,few\n7,ok,7\n")
    lake.write("csv/reordered_extra.csv", "score,extra,id\n8.5,e,8\n")
    lake.write("csv/wrong_type.csv", "id,name,score\nnine,n,9x\n")
    lake.write("csv/header_only.csv", "id,name,score\n")
    lake.write("csv/empty.csv", "")
    lake.write("csv/bom_crlf.csv", "\ufeffid,name,score\r\n10,crlf,1\r\n")
    lake.write("csv/semicolon_gz.csv.gz", "id,name,score\n11,gz,1\n", gz=True)
    lake.write("csv/latin1.csv", b"id,name,score\n12,caf\xe9,1\n13,ok,1\n")

    result = lake.run(name)

    assert result.ok, result.error
    counts = lake.committed(name)
    assert counts["good.csv"] == (2, 2, 0, 0)
    assert counts["quoted_newline.csv"] == (2, 2, 0, 0)
    assert counts["field_count.csv"] == (3, 1, 0, 2)
    assert counts["reordered_extra.csv"] == (1, 1, 1, 0)
    assert counts["wrong_type.csv"] == (1, 1, 1, 0)
    assert counts["header_only.csv"] == counts["empty.csv"] == (0, 0, 0, 0)
    assert counts["bom_crlf.csv"] == (1, 1, 0, 0)
    assert counts["semicolon_gz.csv.gz"] == (1, 1, 0, 0)
    assert counts["latin1.csv"] == (2, 1, 0, 1)
    rows = {r.id: r for r in lake.bronze(name).where(F.col("id").isNotNull()).collect()}
    assert rows[3].name == "line one\nline two" and rows[4].name == 'with "quotes", and comma'
    assert rows[8].score == 8.5 and json.loads(rows[8]._rescued_data) == {"extra": "e"}
    assert rows[10].name == "crlf"
    wrong = lake.bronze(name).where(F.col("name") == "n").first()
    assert wrong.id is None and json.loads(wrong._rescued_data) == {"id": "nine", "score": "9x"}
    corrupt = sorted(r._corrupt_record for r in lake.bronze(name).where(F.col("_corrupt_record").isNotNull()).collect())
    assert corrupt == ["12,caf\ufffd,1", "5,too,many,fields", "6,few"]


def test_parquet_files_with_different_schemas(lake, tmp_path):
    name = lake.source("pq", format="parquet", schema=SCHEMA, schema_evolution="rescue")
    (lake.landing / "pq").mkdir()
    pq.write_table(pa.table({"id": [1, 2], "name": ["a", "b"], "score": [1.0, 2.0]}), lake.landing / "pq/a.parquet")
    pq.write_table(pa.table({"id": ["3", "four"], "extra": [True, False]}), lake.landing / "pq/b.parquet")
    pq.write_table(pa.table({"score": [5], "id": [5]}), lake.landing / "pq/c.parquet")

    result = lake.run(name)

    assert result.ok, result.error
    assert lake.committed(name) == {"a.parquet": (2, 2, 0, 0), "b.parquet": (2, 2, 2, 0), "c.parquet": (1, 1, 0, 0)}
    rows = {(r.id, r.name, r.score, r._rescued_data) for r in lake.bronze(name).collect()}
    assert (3, None, None, '{"extra":"true"}') in rows
    assert (None, None, None, '{"id":"four","extra":"false"}') in rows
    assert (5, None, 5.0, None) in rows


def test_parquet_nested_columns_are_kept_typed_or_rescued_whole(lake):
    """Nested Parquet columns (struct, array, map) land typed as inferred from the files; a file whose nested
    column has another shape keeps that value whole, as JSON, in _rescued_data."""
    name = lake.source("nested", format="parquet")
    (lake.landing / "nested").mkdir()
    nested = {"tags": [["a"], ["b", "c"]], "point": [{"x": 1, "y": "p"}, None], "attrs": [[("k", 1)], []]}
    point = pa.struct([("x", pa.int64()), ("y", pa.string())])
    types = [
        ("id", pa.int64()),
        ("tags", pa.list_(pa.string())),
        ("point", point),
        ("attrs", pa.map_(pa.string(), pa.int64())),
    ]
    table = pa.table({"id": [1, 2], **nested}, schema=pa.schema(types))
    pq.write_table(table, lake.landing / "nested/a.parquet")
    assert lake.run(name).ok

    pq.write_table(pa.table({"id": [3], "point": [{"x": "three"}]}), lake.landing / "nested/b.parquet")
    result = lake.run(name)

    assert result.ok, result.error
    rows = {row.id: row for row in lake.bronze(name).collect()}
    assert rows[1].tags == ["a"] and rows[1].point.x == 1 and rows[1].point.y == "p" and rows[1].attrs == {"k": 1}
    assert rows[2].tags == ["b", "c"] and rows[2].point is None and rows[2].attrs == {}
    assert rows[3].point is None and json.loads(rows[3]._rescued_data) == {"point": '{"x":"three"}'}


def test_add_new_columns_evolves_bronze_and_says_so(lake):
    name = lake.source("evolve", schema={"id": "bigint"}, schema_evolution="addNewColumns", max_files_per_batch=1)
    lake.write("evolve/1.json", '{"id": 1}\n', mtime=1_000)
    lake.write("evolve/2.json", '{"id": 2, "quality": 0.5, "Id": 7}\n{"id": 3}\n', mtime=2_000)
    lake.write("evolve/3.json", '{"id": 4, "quality": 0.75}\n', mtime=3_000)

    result = lake.run(name)

    assert result.ok and result.new_columns == ["quality"] and result.rescued_columns == ["Id"]
    rows = {r.id: r for r in lake.bronze(name).collect()}
    assert rows[2].quality == "0.5" and rows[2]._rescued_data == '{"Id":"7"}'  # case clash stays rescued
    assert rows[3].quality is None and rows[4].quality == "0.75"
    history = lake.spark.table("test_bronze.ingestion_schema_history").where(F.col("source") == name)
    assert [(r.change, list(r.columns)) for r in history.orderBy("version").collect()] == [
        ("declared", ["id"]),
        ("added_columns", ["quality"]),
    ]


def test_fail_on_new_columns_stops_with_file_and_columns_and_writes_nothing(lake):
    name = lake.source("strict", schema={"id": "bigint"}, schema_evolution="failOnNewColumns")
    lake.write("strict/ok.json", '{"id": 1}\n')
    assert lake.run(name).ok
    wide = {"id": 2, "surprise": 1, **{f"k{i:03d}": i for i in range(300)}}
    lake.write("strict/drift.json", json.dumps(wide) + "\n")

    result = lake.run(name)

    assert not result.ok
    assert "surprise" in result.error and "drift.json" in result.error and name in result.error
    assert "301 new column(s)" in result.error and "and 291 more" in result.error  # one line, not 301 names
    assert len(result.error) < 600
    assert lake.bronze(name).count() == 1
    assert lake.log(name).where(F.col("status") == "failed").count() == 1


def test_inferred_schema_is_persisted_once_with_its_history(lake):
    name = lake.source("inferred", schema_evolution="addNewColumns")
    lake.write("inferred/a.json", '{"b": 1, "a": "x"}\n', mtime=1_000)
    assert lake.run(name).ok
    lake.write("inferred/b.json", '{"a": "y", "c": true}\n', mtime=2_000)
    result = lake.run(name)
    assert result.new_columns == ["c"]
    columns = [f.name for f in lake.bronze(name).schema.fields if not f.name.startswith("_")]
    assert columns == ["b", "a", "c"]  # strings, in order of appearance, like Auto Loader's default
    history = lake.spark.table("test_bronze.ingestion_schema_history").where(F.col("source") == name)
    assert [r.change for r in history.orderBy("version").collect()] == ["inferred", "added_columns"]


# Lines Spark's JSON data source parses alike (objects with known keys only); several of them it cannot parse
# whole, so they go through the line-by-line rescue inside the data source's read.
ALIKE = {
    "plain.json": '{"id": 1, "name": "a", "score": 1.5, "amount": 1.25}\n{"id": 2, "score": 2}\n',
    "flagged.json": "\n".join(
        [
            '{"id": "three", "name": "wrong type", "score": "high"}',  # rescued
            '{"id": 4, "name": {"n": [1, 4.50]}}',  # an object for a string: its JSON text
            '{"id": 5, "name": 3.141592653589793238}',  # a number for a string
            '{"id": 6, "score": NaN}',  # corrupt, as line by line
            '{"id": 7, "score": -INF}',
            '{"id": 8, "name": "a\tb"}',  # a raw tab: corrupt
            '{"id": 9, "name": "unfinished',
            '  {"id": 10, "amount": "12.5", "day": "2026-01-01T23:59:59Z"}',  # a date with a time: rescued
            '{"id": 11, "day": "2026-01-02", "name": null, "score": null}',
            '{"id": 12, "name": "\\u00e9\\"q"} trailing',
            "{}",
        ]
    ),  # no final newline
    "bom_crlf.json": '\ufeff{"id": 13}\r\n{"id": 14, "name": "crlf"}\r\n',
    "bytes.json": b'{"id": 15, "name": "caf\xe9"}\n{"id": 16}\n',
    "gzipped.json.gz": '{"id": 17, "score": 1e2}\n',
}
ALIKE_SCHEMA = {**SCHEMA, "amount": "decimal(5,2)", "day": "date"}


def _sniffed(lake, folder: str):
    from ingestion.readers import sniff
    from ingestion.storage import Storage

    files = Storage().list_files(f"{lake.landing_uri}/{folder}").files
    heads = Storage().heads(files)
    return files, {file.uri: sniff(file, heads[file.uri], "json") for file in files}


def _struct(schema: dict):
    from pyspark.sql import types as T

    return T.StructType([T.StructField(name, T.DataType.fromDDL(kind)) for name, kind in schema.items()])


def test_the_json_data_source_reads_alike_or_is_not_used(lake, monkeypatch):
    """Large JSON batches go through Spark's JSON data source (readers._read_json_source) only where it gives the
    very rows of the line-by-line reader; otherwise the line-by-line reader reads them."""
    from ingestion import readers

    monkeypatch.setattr(readers, "JSON_SOURCE_FROM_BYTES", 0)  # every batch is large enough
    schema = _struct(ALIKE_SCHEMA)
    for file, content in ALIKE.items():
        lake.write(f"alike/{file}", content, gz=file.endswith(".gz"))
    files, sniffs = _sniffed(lake, "alike")
    assert readers._parses_alike(lake.spark, files, schema, sniffs)
    fast = readers.read_json(lake.spark, files, schema, sniffs)
    assert "FileScan json" in fast._jdf.queryExecution().executedPlan().toString()
    by_position = ("_source_file", "_source_row")
    slow = readers.read_json(lake.spark, files, schema, sniffs, fast=False).orderBy(*by_position).collect()
    assert fast.orderBy(*by_position).collect() == slow
    assert len(slow) == 18 and sum(row._corrupt_record is not None for row in slow) == 5
    assert sum(row._rescued_data is not None for row in slow) == 2

    # What the data source would read otherwise: one of these lines in any file sends the batch line by line.
    differing = {
        "key_after_the_head": "".join(f'{{"id": {i}}}\n' for i in range(300)) + '{"id": 300, "extra": 1}\n',
        "key_differing_by_case": '{"id": 1}\n{"ID": 2}\n',
        # Keys alike but for case after the head: the data source's key inference fails on them; the lines rescue them.
        "key_differing_by_case_after_the_head": "".join(f'{{"id": {i}, "name": "a"}}\n' for i in range(300))
        + '{"ID": 300}\n',
        "blank_line": '{"id": 1}\n\n{"id": 2}\n',
        "top_level_array": '{"id": 1}\n[{"id": 2}, {"id": 3}]\n',
        "utf16": '{"id": 1}\n'.encode("utf-16"),
    }
    for case, content in differing.items():
        lake.write(f"{case}/{case}.json", content)
        files, sniffs = _sniffed(lake, case)
        assert not readers._parses_alike(lake.spark, files, schema, sniffs), case
        read = readers.read_json(lake.spark, files, schema, sniffs)
        assert "FileScan json" not in read._jdf.queryExecution().executedPlan().toString(), case


def test_a_row_the_json_data_source_cannot_rescue_sends_the_batch_line_by_line(lake, monkeypatch):
    """A number that overflowed its double or lost digits in its decimal needs the line's text to be rescued, which
    the data source does not keep: the write stops and the batch is read again line by line, once."""
    from ingestion import readers

    monkeypatch.setattr(readers, "JSON_SOURCE_FROM_BYTES", 0)
    name = lake.source("lossy", schema=ALIKE_SCHEMA, schema_evolution="rescue")
    lake.write("lossy/a.json", '{"id": 1, "score": 1e400}\n{"id": 2, "amount": 1.239}\n{"id": 3, "score": 2.5}\n')
    files, sniffs = _sniffed(lake, "lossy")
    assert readers._parses_alike(lake.spark, files, _struct(ALIKE_SCHEMA), sniffs)

    result = lake.run(name)

    assert result.ok, result.error
    assert lake.committed(name) == {"a.json": (3, 3, 2, 0)}
    rows = {row.id: row for row in _rows(lake, name, "a.json")}
    assert rows[1].score is None and json.loads(rows[1]._rescued_data) == {"score": "Infinity"}
    assert rows[2].amount is None and json.loads(rows[2]._rescued_data) == {"amount": "1.239"}
    assert rows[3].score == 2.5 and rows[3]._rescued_data is None


@pytest.mark.parametrize("path", ["line by line", "data source"])
def test_a_decimal_keeps_every_digit_or_is_rescued_as_written(lake, monkeypatch, path):
    """No decimal loses a digit silently, whatever its precision: 1.239 into decimal(38,2) is rescued as written,
    and a value with more digits than a double holds is kept, or rescued, digit for digit."""
    from ingestion import readers

    if path == "data source":
        monkeypatch.setattr(readers, "JSON_SOURCE_FROM_BYTES", 0)
    schema = {"id": "bigint", "wide": "decimal(38,2)", "long": "decimal(20,2)", "narrow": "decimal(5,2)"}
    name = lake.source("decimals", schema=schema, schema_evolution="rescue")
    lake.write(
        "decimals/a.json",
        '{"id": 1, "wide": 1.239, "long": 123456789012345678.91}\n'
        '{"id": 2, "wide": 1.23, "narrow": 1.2345678901234567891}\n',
    )

    result = lake.run(name)

    assert result.ok, result.error
    rows = {row.id: row for row in _rows(lake, name, "a.json")}
    assert rows[1].wide is None and json.loads(rows[1]._rescued_data) == {"wide": "1.239"}
    assert rows[1].long == Decimal("123456789012345678.91")
    assert rows[2].wide == Decimal("1.23") and rows[2].narrow is None
    assert json.loads(rows[2]._rescued_data) == {"narrow": "1.2345678901234567891"}
