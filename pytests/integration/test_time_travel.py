"""Time travel on real Spark and Delta: a bronze table read as of the version before a replay changed its rows,
through runtime/time_travel.py, the `lakehouse history` and `lakehouse show` commands and the dbt macro as_of;
and every bad input or missing version is one line naming the table."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from conftest import Lake

from runtime.cli import main
from runtime.dbt import run_dbt
from runtime.errors import LakehouseError
from runtime.project import schema
from runtime.time_travel import as_of, history

pytestmark = pytest.mark.integration
SCHEMA = {"id": "bigint", "name": "string"}


def _lines(name: str) -> str:
    return "".join(json.dumps({"id": i, "name": f"{name}{i}"}) + "\n" for i in range(3))


def _by_id(rows) -> list:
    return sorted(rows, key=lambda row: row.id)


@dataclass
class Replayed:
    table: str  # as the commands name it: bronze.<table>
    version: int  # the table's version before the replay
    timestamp: str  # when that version was committed, as history() gives it
    rows: list  # the table's rows then, by id


@pytest.fixture(scope="module")
def replayed(spark, tmp_path_factory) -> Replayed:
    """A source ingested ("before0" ...), then its file corrected and replayed ("after0" ...)."""
    lake = Lake(spark, tmp_path_factory.mktemp("time-travel"), "time_travel")
    source = lake.source("replayed", schema=SCHEMA)
    lake.write("replayed/a.json", _lines("before"), mtime=1_000)
    assert lake.run(source).ok
    table = f"bronze.{lake.config.sources[source].table}"
    [before] = history(spark, table, limit=1)
    rows = _by_id(lake.bronze(source).collect())
    lake.write("replayed/a.json", _lines("after"), mtime=2_000)
    assert lake.replay(source, names=["a.json"]).ok
    assert [row.name for row in _by_id(lake.bronze(source).collect())] == ["after0", "after1", "after2"]
    return Replayed(table, before.version, before.timestamp, rows)


def test_reads_the_rows_of_before_the_replay(spark, replayed):
    assert [row.name for row in replayed.rows] == ["before0", "before1", "before2"]
    assert _by_id(as_of(spark, replayed.table, version=replayed.version).collect()) == replayed.rows
    assert _by_id(as_of(spark, replayed.table, timestamp=replayed.timestamp).collect()) == replayed.rows
    assert [row.name for row in _by_id(as_of(spark, replayed.table).collect())] == ["after0", "after1", "after2"]
    replay = next(row for row in history(spark, replayed.table) if row.operation == "WRITE")  # not a compaction
    assert replay.version > replayed.version
    assert replay.row_metrics["numOutputRows"] == "3" and replay.row_metrics["numDeletedRows"] == "3"


def test_history_and_show_commands(replayed, capsys):
    assert main(["history", replayed.table]) == 0
    listed = capsys.readouterr().out
    assert f"history of {replayed.table}" in listed and "numDeletedRows=3" in listed and replayed.timestamp in listed

    for when in (["--version", str(replayed.version)], ["--timestamp", replayed.timestamp]):
        assert main(["show", replayed.table, *when]) == 0
        shown = capsys.readouterr().out
        assert all(f"before{i}" in shown for i in range(3)) and "after" not in shown, shown

    assert main(["show", replayed.table, "--limit", "1"]) == 0
    shown = capsys.readouterr().out
    assert "as of now" in shown and sum(f"after{i}" in shown for i in range(3)) == 1


def test_errors_are_one_line_naming_the_table_and_cause(spark, replayed, capsys):
    table = replayed.table
    cases = [
        (["show", "bronze.no_such_table", "--version", "0"], "bronze.no_such_table: no such table"),
        (["show", table, "--version", "999"], "Cannot time travel Delta table to version 999"),
        (["show", table, "--timestamp", "2000-01-01"], "is before the earliest version available"),
        (["show", table, "--version", "-1"], "version -1 is not a non-negative integer"),
        (["show", table, "--timestamp", "2026-01-05'; drop table x; --"], "is not 'YYYY-MM-DD'"),
        (["history", "bronze.no;drop"], "bronze.no;drop: table 'no;drop' is not a valid identifier"),
        (["history", "platinum.anything"], "'platinum.anything' is not <layer>.<table>"),
        (["history", table, "--limit", "0"], "limit 0 is not a positive integer"),
    ]
    for args, cause in cases:
        assert main(args) == 2, args
        error = capsys.readouterr().err.strip()
        assert error.startswith("error: ") and "\n" not in error and cause in error and args[1] in error, error
    with pytest.raises(LakehouseError, match="not both"):
        as_of(spark, table, version=0, timestamp=replayed.timestamp)


def _inline(table: str, *as_of_args: str) -> str:
    """A query over the test's bronze table through the as_of macro, once per `as_of_args`, labelled by them."""
    relation = f"api.Relation.create(schema='{schema('bronze')}', identifier='{table.split('.')[1]}')"
    return " union all ".join(
        f'select "{args}" as read_by, id, name from {{{{ as_of({relation}, {args}) }}}}' for args in as_of_args
    )


def _compile_error(result) -> str:
    """dbt reports a compilation error of an inline query as "Error parsing inline query", raised while handling
    the macro's own error."""
    return str(result.exception.__context__ or result.exception)


def test_as_of_macro_renders_runs_and_validates(replayed):
    by_version, by_timestamp = f"version={replayed.version}", f"timestamp='{replayed.timestamp}'"
    result = run_dbt(["show", "--inline", _inline(replayed.table, by_version, by_timestamp), "--limit", "-1"])
    assert result.success, result.exception
    rows = sorted(tuple(row) for row in result.result.results[0].agate_table.rows)
    expected = [(how, row.id, row.name) for row in replayed.rows for how in (by_timestamp, by_version)]
    assert rows == sorted(expected)

    for args, message in (
        ("version=-1", "version -1 is not a non-negative integer"),
        ("version='1; drop'", "version 1; drop is not a non-negative integer"),
        ("timestamp='2026-01-05; drop'", "timestamp '2026-01-05; drop' is not 'YYYY-MM-DD'"),
        (f"{by_version}, {by_timestamp}", "give exactly one of version or timestamp"),
    ):
        result = run_dbt(["compile", "--inline", _inline(replayed.table, args)])
        assert not result.success and message in _compile_error(result), (args, result.exception)
