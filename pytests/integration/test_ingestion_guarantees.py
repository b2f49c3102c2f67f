"""Exactly-once, rewrites, replay, concurrency and S3: the guarantees of ingestion, on real Spark and Delta."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingestion import ingest, readers
from ingestion.ingest import Ingestor
from ingestion.tables import TRANSFER_LOG, BronzeTable

pytestmark = pytest.mark.integration
SCHEMA = {"id": "bigint", "name": "string"}


def _lines(start: int, count: int) -> str:
    return "".join(f'{{"id": {i}, "name": "n{i}"}}\n' for i in range(start, start + count))


def test_rerun_without_new_files_commits_nothing(lake):
    name = lake.source("idem", schema=SCHEMA, max_files_per_batch=2)
    for i in range(5):
        lake.write(f"idem/{i}.json", _lines(i * 10, 10), mtime=1_000 + i)
    first = lake.run(name)
    assert first.ok and first.count("committed") == 5
    assert sorted({r.batch_id for r in first.files}) == [1, 2, 3]  # 2 + 2 + 1 files
    bronze_commits = lake.commits(lake.table(name))
    log_commits = lake.commits(f"test_bronze.{TRANSFER_LOG}")

    again = lake.run(name)

    assert again.ok and again.files == []
    assert lake.commits(lake.table(name)) == bronze_commits
    assert lake.commits(f"test_bronze.{TRANSFER_LOG}") == log_commits
    assert lake.bronze(name).count() == 50 and lake.bronze(name).select("id").distinct().count() == 50


@pytest.mark.parametrize("json_source", [True, False], ids=["json-data-source", "line-by-line"])
def test_a_file_read_by_several_tasks_is_counted_once_in_full(lake, monkeypatch, json_source):
    """Spark splits a large file between tasks (a single 8 MB file of a batch went to four): its rows, counted by
    each task during the write, are the file's rows, without reading the batch back, and the run succeeds."""
    monkeypatch.setattr(readers, "JSON_SOURCE_FROM_BYTES", 0 if json_source else 1 << 40)
    read_back, batch_counts = [], BronzeTable.batch_counts

    def spy(table, batch_id):
        read_back.append(batch_id)
        return batch_counts(table, batch_id)

    monkeypatch.setattr(BronzeTable, "batch_counts", spy)
    name = lake.source("split", schema=SCHEMA)
    # File 0 small, files 1 and 2 large: a merged point of file 1 or 2 is a mean a rounding error off its index.
    lake.write("split/a-small.json", _lines(0, 10), mtime=1_000)
    lake.write("split/big-1.json", _lines(10, 3000), mtime=1_001)  # about 100 KB
    lake.write("split/big-2.json", _lines(3010, 3000), mtime=1_002)
    saved = lake.spark.conf.get("spark.sql.files.maxPartitionBytes")
    lake.spark.conf.set("spark.sql.files.maxPartitionBytes", str(8 * 1024))  # a split per 8 KB
    try:
        result = lake.run(name)
    finally:
        lake.spark.conf.set("spark.sql.files.maxPartitionBytes", saved)

    assert result.ok, result.error
    assert read_back == []  # counted in the write's one pass
    assert lake.committed(name) == {
        "a-small.json": (10, 10, 0, 0),
        "big-1.json": (3000, 3000, 0, 0),
        "big-2.json": (3000, 3000, 0, 0),
    }
    assert lake.bronze(name).count() == 6010


def test_rows_per_file_that_do_not_add_up_are_read_back(lake, monkeypatch):
    """Should the counts observed in the write ever disagree with its total, the committed batch is read back from
    bronze for them: the run logs exact counts and succeeds rather than failing after its commit."""
    monkeypatch.setattr(ingest, "_per_file", lambda histogram: {0: 1})
    name = lake.source("odd", schema=SCHEMA)
    lake.write("odd/a.json", _lines(0, 7))
    lake.write("odd/b.json", _lines(7, 5))

    result = lake.run(name)

    assert result.ok, result.error
    assert lake.committed(name) == {"a.json": (7, 7, 0, 0), "b.json": (5, 5, 0, 0)}


def test_bronze_and_the_log_are_compacted_by_ingestion_not_by_delta(lake, monkeypatch):
    """Delta would compact a table after its first write in each process (runtime/spark.py): bronze and the transfer
    log opt out; ingestion merges bronze's small files after every COMPACT_EVERY_BATCHES-th batch, and the log's
    after a run that found COMPACT_LOG_AFTER_APPENDS appends or more since its last compaction."""
    monkeypatch.setattr(ingest, "COMPACT_EVERY_BATCHES", 2)
    monkeypatch.setattr(ingest, "COMPACT_LOG_AFTER_APPENDS", 3)
    name = lake.source("compacted", schema=SCHEMA, max_files_per_batch=2)
    for i in range(6):
        lake.write(f"compacted/{i}.json", _lines(i * 10, 10), mtime=1_000 + i)
    log_table = f"test_bronze.{TRANSFER_LOG}"
    ingestor = lake.ingestor()  # makes the log if this is the session's first ingestion
    log_version = lake.spark.sql(f"describe history {log_table} limit 1").first().version

    [result] = ingestor.run_all([lake.config.sources[name]])

    assert result.ok and sorted({r.batch_id for r in result.files}) == [1, 2, 3]
    log_history = lake.spark.sql(f"describe history {log_table}").where(F.col("version") > log_version)
    assert [r.operation for r in log_history.orderBy("version").collect()] == ["WRITE"] * 3 + ["OPTIMIZE"]
    assert lake.spark.sql(f"describe detail {log_table}").first().numFiles == 1
    assert ingestor.log.appends_since_compaction(10) == 0
    assert lake.committed(name) == {f"{i}.json": (10, 10, 0, 0) for i in range(6)}
    history = lake.spark.sql(f"describe history {lake.table(name)}").orderBy("version").collect()
    changes = [(r.operation, r.operationMetrics) for r in history if r.operation in ("WRITE", "OPTIMIZE")]
    assert [operation for operation, _ in changes] == ["WRITE", "WRITE", "OPTIMIZE", "WRITE"]
    written = sum(int(metrics["numFiles"]) for operation, metrics in changes[:2])
    assert written >= 3 and changes[2][1]["numRemovedFiles"] == str(written) and changes[2][1]["numAddedFiles"] == "1"
    properties = lake.spark.sql(f"describe detail {lake.table(name)}").first().properties
    assert properties["delta.autoOptimize.autoCompact"] == "false"
    assert lake.rows_per_file(name) == {f"{i}.json": 10 for i in range(6)}
    assert lake.bronze(name).select("id").distinct().count() == 60


def test_new_files_only_are_ingested_next_time(lake):
    name = lake.source("incr", schema=SCHEMA)
    lake.write("incr/a.json", _lines(0, 3), mtime=1_000)
    assert lake.run(name).ok
    lake.write("incr/b.json", _lines(3, 4), mtime=2_000)
    result = lake.run(name)
    assert [r.file.uri.rsplit("/", 1)[-1] for r in result.files] == ["b.json"]
    assert lake.rows_per_file(name) == {"a.json": 3, "b.json": 4}


def test_rewrite_in_place_is_reported_once_when_overwrites_are_not_allowed(lake):
    name = lake.source("strictrw", schema=SCHEMA)
    lake.write("strictrw/a.json", _lines(0, 3), mtime=1_000)
    assert lake.run(name).ok
    lake.write("strictrw/a.json", _lines(0, 5), mtime=2_000)

    result = lake.run(name)

    assert not result.ok and result.count("rewrite_ignored") == 1
    assert "allow_overwrites" in result.files[0].error
    assert lake.bronze(name).count() == 3
    assert lake.run(name).ok  # reported once; the next run has nothing new to say


def test_rewrite_in_place_is_ingested_as_a_new_version_when_allowed(lake):
    name = lake.source("extract", schema=SCHEMA, allow_overwrites=True)
    lake.write("extract/full.json", _lines(0, 3), mtime=1_000)
    assert lake.run(name).ok
    lake.write("extract/full.json", _lines(0, 4), mtime=2_000)

    result = lake.run(name)

    assert result.ok and [r.action for r in result.files] == ["overwrite"]
    versions = lake.bronze(name).groupBy("_file_modified_at", "_batch_id").count().orderBy("_batch_id").collect()
    assert [(r._batch_id, r["count"]) for r in versions] == [(1, 3), (2, 4)]


def test_replay_replaces_rows_and_is_logged(lake):
    name = lake.source("replay", schema=SCHEMA)
    lake.write("replay/day=1/a.json", _lines(0, 3), mtime=1_000)
    lake.write("replay/day=2/b.json", _lines(3, 3), mtime=2_000)
    lake.write("replay/day=3/c.json", _lines(6, 3), mtime=3_000)
    assert lake.run(name).ok

    told = []  # what the runtime is told a replay will read (it fits code generation to it, as for a run)
    replayer = Ingestor(lake.spark, lake.config, bronze_schema="test_bronze", before_run=told.append)
    source = lake.config.sources[name]
    by_name = replayer.replay(source, names=["day=1/a.json"])
    by_glob = replayer.replay(source, glob="*/day=2/*")
    by_time = replayer.replay(
        source, since=datetime.fromtimestamp(2_500, timezone.utc), until=datetime.fromtimestamp(3_500, timezone.utc)
    )
    sizes = {path.name: path.stat().st_size for path in lake.landing.rglob("*.json")}
    assert told == [sizes["a.json"], sizes["b.json"], sizes["c.json"]]

    for result, file in ((by_name, "a.json"), (by_glob, "b.json"), (by_time, "c.json")):
        assert result.ok and [r.file.uri.rsplit("/", 1)[-1] for r in result.files] == [file]
    assert lake.rows_per_file(name) == {"a.json": 3, "b.json": 3, "c.json": 3}  # replaced, never duplicated
    assert lake.bronze(name).groupBy("id").count().where("count > 1").count() == 0
    actions = lake.log(name).where(F.col("status") == "committed").groupBy("action").count().collect()
    assert {r.action: r["count"] for r in actions} == {"ingest": 3, "replay": 3}
    assert sorted(r._batch_id for r in lake.bronze(name).select("_batch_id").distinct().collect()) == [2, 3, 4]


def test_replay_picks_up_corrected_content(lake):
    name = lake.source("fix", schema=SCHEMA, allow_overwrites=False)
    lake.write("fix/a.json", '{"id": 1, "name": "typo"}\n{"id": 2, "nam', mtime=1_000)
    assert lake.run(name).ok
    lake.write("fix/a.json", '{"id": 1, "name": "fixed"}\n{"id": 2, "name": "b"}\n', mtime=2_000)
    assert lake.replay(name, names=["a.json"]).ok
    assert sorted((r.id, r.name) for r in lake.bronze(name).collect()) == [(1, "fixed"), (2, "b")]


def test_replay_of_a_source_that_keeps_versions_replaces_only_the_version_it_reads(lake):
    """A full extract rewritten in place (`allow_overwrites`) keeps each version's rows as history: replaying the
    file replaces the rows of the version it reads again, never those of earlier versions."""
    name = lake.source("extract", format="csv", schema={"id": "bigint", "v": "string"}, allow_overwrites=True)
    lake.write("extract/all.csv", "id,v\n1,a\n2,b\n", mtime=1_000)
    assert lake.run(name).ok
    lake.write("extract/all.csv", "id,v\n1,a2\n2,b2\n3,c\n", mtime=2_000)
    assert lake.run(name).ok

    assert lake.replay(name, names=["all.csv"]).ok

    rows = sorted((r.id, r.v, int(r._file_modified_at.timestamp())) for r in lake.bronze(name).collect())
    assert rows == [(1, "a", 1_000), (1, "a2", 2_000), (2, "b", 1_000), (2, "b2", 2_000), (3, "c", 2_000)]
    actions = lake.log(name).where(F.col("status") == "committed").groupBy("action").count().collect()
    assert {r.action: r["count"] for r in actions} == {"ingest": 1, "overwrite": 1, "replay": 1}


def test_a_batch_committed_but_not_logged_is_logged_by_the_next_run(lake):
    """A run killed between its bronze commit and its log append: the next run finds the batch in bronze's
    history (its commit names the files), logs it with counts read back, and never writes it again."""
    from ingestion.ingest import _Batch

    name = lake.source("unlogged", schema=SCHEMA)
    lake.write("unlogged/a.json", _lines(0, 2) + '{"id": 9, "na\n', mtime=1_000)
    source = lake.config.sources[name]
    died = lake.ingestor()
    died._sync_declared_schema(source, died._bronze(source))
    batch = _Batch(source, died._bronze(source), 1, "ingest", died.plan(source).plan.to_ingest)
    died._sniff(batch)
    died._write(batch, batch.bronze.schema())  # committed to bronze, then the process "died"
    assert lake.log(name).count() == 0

    result = lake.run(name)

    assert result.ok and result.recovered_batches == [1]
    assert lake.committed(name) == {"a.json": (3, 2, 0, 1)}
    assert lake.rows_per_file(name) == {"a.json": 3}
    assert lake.run(name).files == []  # nothing left to do, nothing duplicated


@pytest.mark.parametrize("killed", ["after-write", "after-add-columns"])
def test_the_new_columns_of_a_killed_run_are_filled_by_the_run_that_recovers_it(lake, killed):
    """addNewColumns after a write (a key first seen past the files' heads) is a column added, then the batch's
    rescued values moved into it: a run killed before the move leaves the next run to finish it, as if it had
    not been killed."""
    from ingestion.ingest import _Batch

    folder = f"grow_{killed[6:9]}"
    name = lake.source(folder, schema={"id": "bigint"}, schema_evolution="addNewColumns")
    lake.write(f"{folder}/a.json", "".join(f'{{"id": {i}}}\n' for i in range(300)) + '{"id": 300, "color": "red"}\n')
    source = lake.config.sources[name]
    died = lake.ingestor()
    died._sync_declared_schema(source, died._bronze(source))
    batch = _Batch(source, died._bronze(source), 1, "ingest", died.plan(source).plan.to_ingest)
    died._sniff(batch)
    died._write(batch, batch.bronze.schema())
    if killed == "after-add-columns":
        batch.bronze.add_columns({"color": T.StringType()})

    result = lake.run(name)

    assert result.ok and result.recovered_batches == [1] and result.new_columns == ["color"]
    row = lake.bronze(name).where("id = 300").first()
    assert row.color == "red" and row._rescued_data is None
    assert lake.committed(name) == {"a.json": (301, 301, 0, 0)}
    history = lake.spark.table("test_bronze.ingestion_schema_history").where(F.col("source") == name)
    assert [r.change for r in history.orderBy("version").collect()] == ["declared", "added_columns"]


def test_two_runs_writing_one_batch_never_duplicate(lake):
    """Two runs that picked the same batch: Delta commits the first, refuses the second (same txnVersion); the
    second says so and writes nothing."""
    from ingestion.ingest import ConcurrentRunError, _Batch

    name = lake.source("race", schema=SCHEMA)
    lake.write("race/a.json", _lines(0, 2))
    source = lake.config.sources[name]
    first, second = lake.ingestor(), lake.ingestor()
    first._sync_declared_schema(source, first._bronze(source))
    files = first.plan(source).plan.to_ingest
    batches = [_Batch(source, ingestor._bronze(source), 1, "ingest", files) for ingestor in (first, second)]
    for ingestor, batch in zip((first, second), batches, strict=True):
        ingestor._sniff(batch)
    first._write(batches[0], batches[0].bronze.schema())
    with pytest.raises(ConcurrentRunError, match="committed by another ingestion run"):
        second._write(batches[1], batches[1].bronze.schema())
    assert lake.rows_per_file(name) == {"a.json": 2}


def test_a_batch_of_failed_files_leaves_its_batch_id_to_the_run_that_writes_it(lake):
    """Two runs planned batch 1 from different listings: the first saw only a file that fails alone (it writes
    nothing to bronze and logs the failure), the second also a good file, and writes batch 1. The failure must
    not take the log's place of batch 1: the good file is logged, and no later run ingests it again."""
    from ingestion.ingest import SourceResult, _Batch

    name = lake.source("slot", schema=SCHEMA)
    lake.write("slot/bad.json.gz", "not gzip at all")
    source = lake.config.sources[name]
    early, late = lake.ingestor(), lake.ingestor()
    early._sync_declared_schema(source, early._bronze(source))
    only_bad = early.plan(source).plan.to_ingest
    lake.write("slot/good.json", _lines(0, 2))
    both = late.plan(source).plan.to_ingest
    for ingestor, files in ((early, only_bad), (late, both)):
        ingestor._execute(_Batch(source, ingestor._bronze(source), 1, "ingest", files), SourceResult(name, "-"))

    assert lake.committed(name) == {"good.json": (2, 2, 0, 0)}
    assert [file.file.uri.rsplit("/", 1)[-1] for file in lake.run(name).files] == ["bad.json.gz"]  # tried again
    assert lake.rows_per_file(name) == {"good.json": 2}


def test_dry_run_plan_writes_nothing(lake):
    name = lake.source("dry", schema=SCHEMA)
    lake.write("dry/a.json", _lines(0, 2))
    log_commits = lake.commits(f"test_bronze.{TRANSFER_LOG}")
    found = lake.ingestor().plan(lake.config.sources[name])
    assert found.unlogged == [] and [f.uri.rsplit("/", 1)[-1] for f in found.plan.new] == ["a.json"]
    assert lake.commits(f"test_bronze.{TRANSFER_LOG}") == log_commits


def test_s3_landing_through_s3a(spark, s3_server, tmp_path, unique):
    from conftest import Lake  # the integration harness, pointed at a bucket instead of a folder

    bucket = f"landing-{unique}"
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="events/day=1/a b.json", Body=_lines(0, 3).encode())
    client.put_object(Bucket=bucket, Key="events/day=1/bad.json", Body=b'{"id": 9, "na\n{"id": 10}\n')
    lake = Lake(spark, tmp_path, unique, landing_uri=f"s3://{bucket}/", s3_endpoint=s3_server.endpoint)
    name = lake.source("events", schema=SCHEMA)

    result = lake.run(name)

    assert result.ok, result.error
    assert lake.committed(name) == {"a%20b.json": (3, 3, 0, 0), "bad.json": (2, 1, 0, 1)}
    assert lake.bronze(name).first()._source_file.startswith(f"s3a://{bucket}/events/day=1/")
    time.sleep(1.1)  # S3 modification times have one-second resolution
    client.put_object(Bucket=bucket, Key="events/day=1/bad.json", Body=b'{"id": 9}\n{"id": 10}\n')
    rewritten = lake.run(name)
    assert rewritten.count("rewrite_ignored") == 1
    assert lake.replay(name, names=["bad.json"]).ok
    assert lake.committed(name)["bad.json"] == (2, 2, 0, 0)
    assert lake.bronze(name).count() == 5
