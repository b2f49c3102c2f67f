"""Inputs that used to lose or invent rows, evolve the schema from data, or flood the console: each one now ends
in bronze (typed, rescued or quarantined) or as a failed file with one clear cause, and counts reconcile."""

from __future__ import annotations

import gzip
import json

import pytest
from pyspark.sql import functions as F

pytestmark = pytest.mark.integration
SCHEMA = {"id": "bigint", "name": "string", "score": "double"}


def _by_file(lake, name):
    return {r.file.uri.rsplit("/", 1)[-1]: r for r in lake.run(name).files}


def test_a_csv_without_its_header_fails_alone_and_evolves_nothing(lake):
    name = lake.source("noheader", format="csv", schema={"id": "bigint", "name": "string"})
    lake.write("noheader/good.csv", "id,name\n1,a\n")
    lake.write("noheader/headless.csv", "11,a\n12,b\n")

    files = _by_file(lake, name)

    assert files["good.csv"].status == "committed"
    assert files["headless.csv"].status == "failed" and "names none of the columns" in files["headless.csv"].error
    columns = [c for c in lake.bronze(name).columns if not c.startswith("_")]
    assert columns == ["id", "name"]  # "11" and "a" did not become columns
    assert lake.run(name).count("failed") == 1  # reported again, never settled as an ok with a lost record


def test_odd_csv_headers_are_read_and_rescued_file_by_file(lake):
    name = lake.source("odd", format="csv", schema={"id": "bigint"}, schema_evolution="addNewColumns")
    lake.write("odd/backtick.csv", "id,a`b\n1,x\n")
    lake.write("odd/empty_name.csv", "id,\n2,y\n")
    lake.write("odd/reserved.csv", "id,_corrupt,_metadata\n3,p,q\n")
    lake.write("odd/fine.csv", "id,extra\n4,z\n")

    result = lake.run(name)

    assert result.ok, [(r.file.uri, r.error) for r in result.files if r.error]
    rows = {r.id: r for r in lake.bronze(name).collect()}
    assert set(rows) == {1, 2, 3, 4}
    assert json.loads(rows[1]._rescued_data) == {"a`b": "x"}
    assert json.loads(rows[2]._rescued_data) == {"_c1": "y"}
    assert json.loads(rows[3]._rescued_data) == {"_corrupt": "p", "_metadata": "q"}
    assert rows[4].extra == "z" and result.new_columns == ["extra"]


def test_utf16_json_gives_one_row_per_record(lake):
    name = lake.source("utf16", schema=SCHEMA)
    lake.write("utf16/le.json", "\ufeff".encode("utf-16le") + '{"id": 1, "name": "é"}\n'.encode("utf-16le"))
    lake.write("utf16/be.json", b"\xfe\xff" + '{"id": 2}\r\n{"id": 3}\n'.encode("utf-16be"))

    result = lake.run(name)

    assert result.ok, result.files
    assert lake.committed(name) == {"le.json": (1, 1, 0, 0), "be.json": (2, 2, 0, 0)}
    rows = {r.id: r for r in lake.bronze(name).collect()}
    assert rows[1].name == "é" and [rows[i]._source_row for i in (2, 3)] == [1, 2]


def test_unsupported_compression_and_hidden_files_are_reported(lake):
    name = lake.source("packed", schema=SCHEMA)
    lake.write("packed/a.json", '{"id": 1}\n')
    lake.write("packed/b.zip", b"PK\x03\x04" + b"\x00" * 40)
    lake.write("packed/c.json", b"PK\x03\x04" + b"\x00" * 40)
    lake.write("packed/_staging/d.json", '{"id": 9}\n')
    lake.write("packed/.e.json.tmp", '{"id": 9}\n')

    result = lake.run(name)

    files = {r.file.uri.rsplit("/", 1)[-1]: r for r in result.files}
    assert files["a.json"].status == "committed"
    assert ".zip compression is not supported" in files["b.zip"].error
    assert "zip-compressed" in files["c.json"].error
    assert result.hidden_files == 2
    assert lake.bronze(name).count() == 1  # no garbage rows from the archives


@pytest.mark.parametrize("declared", [True, False], ids=["failOnNewColumns", "inferred"])
def test_a_truncated_gzip_fails_alone_while_columns_are_read(lake, declared):
    """Modes that read the files' columns before writing (failOnNewColumns; a first batch without a declared
    schema) meet the broken file there, not in the write: it still fails alone, the rest is ingested."""
    options = {"schema": {"id": "bigint"}, "schema_evolution": "failOnNewColumns"} if declared else {}
    name = lake.source("cut", **options)
    lake.write("cut/a.json", '{"id": 1}\n{"id": 2}\n')
    whole = gzip.compress("".join(f'{{"id": {i}}}\n' for i in range(50_000)).encode())
    lake.write("cut/b.json.gz", whole[: len(whole) // 2])  # its head decompresses; its end is missing

    result = lake.run(name)

    files = {r.file.uri.rsplit("/", 1)[-1]: r for r in result.files}
    assert result.error is None
    assert files["a.json"].status == "committed" and files["a.json"].rows_written == 2
    assert files["b.json.gz"].status == "failed" and "b.json.gz" in files["b.json.gz"].error
    assert sorted(r.id for r in lake.bronze(name).collect()) in ([1, 2], ["1", "2"])


def test_values_that_only_fit_with_a_loss_are_rescued(lake):
    schema = {"id": "bigint", "amount": "decimal(5,2)", "day": "date", "ratio": "double", "small": "float"}
    json_source = lake.source("lossy", schema=schema)
    lake.write(
        "lossy/a.json",
        '{"id": 1, "amount": 1.239, "day": "2026-01-01T23:59:59Z", "ratio": 1e400, "small": 1e39}\n'
        '{"id": 2, "amount": 1.23, "day": "2026-01-02", "ratio": 0.5, "small": 0.25}\n',
    )
    csv_source = lake.source("lossycsv", format="csv", schema=schema)
    lake.write(
        "lossycsv/a.csv",
        "id,amount,day,ratio,small\n1,1.239,2026-01-01T23:59:59Z,1e400,1e39\n2,1.23,2026-01-02,0.5,0.25\n",
    )

    for name in (json_source, csv_source):
        assert lake.run(name).ok
        rows = {r.id: r for r in lake.bronze(name).collect()}
        lossy, fine = rows[1], rows[2]
        assert (lossy.amount, lossy.day, lossy.ratio, lossy.small) == (None, None, None, None), name
        rescued = json.loads(lossy._rescued_data)
        assert set(rescued) == {"amount", "day", "ratio", "small"}, (name, rescued)
        assert rescued["amount"] == "1.239" and rescued["day"] == "2026-01-01T23:59:59Z"
        assert str(fine.amount) == "1.23" and str(fine.day) == "2026-01-02" and fine._rescued_data is None
        assert lake.committed(name)["a" + (".json" if name == json_source else ".csv")][2] == 1  # one rescued


def test_wide_records_add_at_most_the_configured_columns(lake):
    name = lake.source("wide", schema={"id": "bigint"}, max_new_columns_per_batch=5)
    wide = {"id": 1, **{f"k{i:04d}": i for i in range(300)}}
    lake.write("wide/a.json", json.dumps(wide) + '\n{"id": 2}\n')

    result = lake.run(name)

    assert result.ok
    data_columns = [c for c in lake.bronze(name).columns if not c.startswith("_")]
    assert data_columns == ["id", "k0000", "k0001", "k0002", "k0003", "k0004"]
    assert len(result.capped_columns) == 295
    row = lake.bronze(name).where(F.col("id") == 1).first()
    assert row.k0000 == "0" and len(json.loads(row._rescued_data)) == 295  # nothing lost
