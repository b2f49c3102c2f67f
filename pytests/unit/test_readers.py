"""The pure parts of reading: what a file's first bytes say, CSV headers, and the URI Spark reports for a path."""

import gzip
from datetime import datetime, timezone

import pytest

from ingestion.config import CsvOptions, SourceConfig
from ingestion.discovery import FileInfo
from ingestion.readers import csv_header, header_problem, json_head_keys, sniff
from ingestion.storage import Storage

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)


def _file(name: str, size: int = 100) -> FileInfo:
    return FileInfo(T0, f"file:/l/{name}", size, f"file:/l/{name}")


def test_plain_and_gzip_json_heads_give_their_first_lines():
    body = b'{"a": 1}\n{"b": 2}\n{"c": '
    plain = sniff(_file("x.json"), body, "json")
    assert plain.problem is None and plain.head == ['{"a": 1}', '{"b": 2}']  # the cut last line is left out
    zipped = sniff(_file("x.json.gz"), gzip.compress(b'{"a": 1}\n{"d": 2}\n'), "json")
    assert zipped.problem is None and json_head_keys([plain, zipped]) == ["a", "b", "d"]


@pytest.mark.parametrize(
    ("name", "head", "problem"),
    [
        ("x.zip", b"PK\x03\x04....", ".zip compression is not supported"),
        ("x.json", b"PK\x03\x04....", "zip-compressed, which is not supported"),
        ("x.json.gz", b'{"not": "gzip"}\n', "the name says gzip but the content is not gzip-compressed"),
        ("x.json", b"\x1f\x8b\x08\x00", "gzip-compressed but the name does not end in .gz"),
        ("x.json", b"\xff\xfe\x00\x00{\x00\x00\x00", "UTF-32"),
        ("x.parquet", b"not parquet", "not a Parquet file"),
    ],
)
def test_unreadable_files_fail_alone_with_a_cause(name, head, problem):
    found = sniff(_file(name), head, "parquet" if name.endswith(".parquet") else "json")
    assert found.problem is not None and problem in found.problem


def test_utf16_is_detected_by_its_byte_order_mark():
    text = '{"id": 1}\n{"id": 2}\n'
    for encoding, bom in (("utf-16le", b"\xff\xfe"), ("utf-16be", b"\xfe\xff")):
        found = sniff(_file("x.json"), bom + text.encode(encoding), "json")
        assert (found.encoding, found.problem, found.head) == (encoding, None, ['{"id": 1}', '{"id": 2}'])
    assert sniff(_file("x.json"), b"\xef\xbb\xbf" + text.encode(), "json").head == ['{"id": 1}', '{"id": 2}']


def test_csv_headers_get_names_for_every_column():
    source = SourceConfig(name="s", uri="file:/l", format="csv", table="s", csv=CsvOptions())
    found = sniff(_file("x.csv"), b'id,,"a`b",id,_corrupt\n1,2,3,4,5\n', "csv")
    assert csv_header(found, source) == ["id", "_c1", "a`b", "id__2", "_corrupt"]


def test_a_header_that_names_no_known_column_is_data():
    assert header_problem(["11", "a", "1", "2026-01-01T00:00:00Z"], ["id", "name"]) is not None
    assert header_problem(["ID", "extra"], ["id", "name"]) is None  # names match ignoring case
    assert header_problem([], ["id"]) is None  # an empty file has no header and no records


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("/l/a b.json", "file:/l/a%20b.json"),
        ("/l/50%.json", "file:/l/50%25.json"),
        ("/l/a+b=c,d;e@f.json", "file:/l/a+b=c,d;e@f.json"),
        ("/l/[x]{y}#?.json", "file:/l/%5Bx%5D%7By%7D%23%3F.json"),
        ("/l/café.json", "file:/l/café.json"),
    ],
)
def test_spark_uri_encodes_like_hadoop(path, uri):
    assert Storage.spark_uri("file:", path) == uri
