"""Run dbt in this process, on the Spark session runtime/spark.py starts.

dbt-spark's `session` method takes whatever `SparkSession.builder.getOrCreate()` returns, so starting
the session here first is what gives dbt the project's Delta, metastore and S3A settings. For the
databricks target no Spark starts; the required environment variables are checked up front.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

from runtime.errors import SettingsError, SetupError
from runtime.project import PROJECT_ROOT, environment, schema, state_dir
from runtime.spark import SparkSettings, fit_codegen, get_spark
from runtime.workspace import check_reachable

DATABRICKS_ENV = ("DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "DBT_ENV_SECRET_DATABRICKS_TOKEN")


def _target(args: list[str]) -> str:
    for i, arg in enumerate(args):
        if arg in ("--target", "-t") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--target="):
            return arg.split("=", 1)[1]
    return os.environ.get("LAKEHOUSE_TARGET", "local")


def dbt_environment() -> None:
    """Point dbt at this project and its profiles, wherever it is called from."""
    os.environ.setdefault("DBT_PROJECT_DIR", str(PROJECT_ROOT))
    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_ROOT / "profiles"))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def run_dbt(args: list[str], spark_settings: SparkSettings | None = None, landed_since: datetime | None = None):
    """Invoke dbt with `args` (e.g. ["build", "--select", "staging"]); return dbt's result object.

    Needs `spark_settings` for the local target unless a session is already running. `landed_since`: the run
    reads only the data landed since then (an incremental build), which decides whether Spark compiles its queries.
    """
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

    dbt_environment()
    target = _target(args)
    needs_spark = args[:1] not in (["parse"], ["ls"], ["list"], ["clean"], ["deps"], ["debug"])
    if target == "local" and needs_spark:
        spark = get_spark(spark_settings) if spark_settings is not None else SparkSession.getActiveSession()
        if spark is not None:
            fit_codegen(spark, landed_bytes(spark, landed_since))
            if _through_connect(spark):
                _one_analysis_per_query()
    if target == "databricks":
        missing = [name for name in DATABRICKS_ENV if not os.environ.get(name)]
        if missing:
            raise SetupError(f"the databricks target needs these environment variables: {', '.join(missing)}")
        if needs_spark or args[:1] == ["debug"]:  # every command that connects; parse and ls do not
            check_reachable(os.environ["DATABRICKS_HOST"])
    return dbtRunner().invoke(args)


def _through_connect(spark) -> bool:
    """Whether `spark` is a Spark Connect session (an engine's client), told apart without importing Connect."""
    return spark.__class__.__module__.startswith("pyspark.sql.connect")


def _one_analysis_per_query() -> None:
    """Through an engine (Spark Connect), dbt-spark's session cursor analyzes a query once, not three times.

    The cursor runs each statement with `spark.sql()`, then asks the result's columns (`description`, from the
    DataFrame's schema) and fetches its rows (`collect()`). In process the three share one analysis; through Spark
    Connect each is a round trip in which the engine parses and analyzes the SQL again (`spark.sql()` 0.16-0.19 s,
    the schema 0.14-0.16 s, of a data test's 0.9 s on a warm engine: BENCHMARKS.md, stop 33). So:

    - a statement that can only read (`_reads_only`: a data test, a unit test's comparison, a watermark) is sent
      once, as the query whose rows are collected right away; any other statement goes through `spark.sql()`,
      which runs a command there and then (and dbt does not say beforehand whether it will fetch its rows);
    - the columns come from the rows. The schema is asked only when there is no row (`where false limit 0`: how
      dbt reads a query's column types). dbt reads only the names of a result with rows; their type codes here
      are the values' Python types, as pyodbc gives them (dbt-spark's `data_type_code_to_name` reads both kinds).
    """
    from dbt.adapters.spark.session import Cursor

    if getattr(Cursor.description, "fget", None) is _row_description:
        return
    Cursor.description = property(_row_description)
    Cursor.execute = _reading_once(Cursor.execute)


def _reading_once(execute):
    from dbt_common.exceptions import DbtRuntimeError
    from pyspark.errors import AnalysisException
    from pyspark.sql import SparkSession

    def execute_query_once(cursor, sql: str, *parameters) -> None:
        if parameters:  # as dbt-spark's own execute
            sql = sql % parameters
        if not _reads_only(sql):
            return execute(cursor, sql)
        builder = SparkSession.builder.enableHiveSupport()
        for parameter, value in cursor.server_side_parameters.items():
            builder = builder.config(parameter, value)
        try:
            cursor._df = _query_frame(builder.getOrCreate(), sql)
            cursor._rows = cursor._df.collect()
        except AnalysisException as exc:  # as dbt-spark's own execute: a clear error, not a Spark trace
            raise DbtRuntimeError(str(exc)) from exc

    return execute_query_once


def _query_frame(spark, sql: str):
    """`sql` as a DataFrame not yet analyzed: on Spark Connect the plan of `spark.sql()`, without its round trip."""
    if not _through_connect(spark):
        return spark.sql(sql)
    from pyspark.sql.connect.dataframe import DataFrame
    from pyspark.sql.connect.plan import SQL

    return DataFrame(SQL(sql), spark)


_LEADING_COMMENT = re.compile(r"\s*(?:/\*.*?\*/|--[^\n]*(?:\n|$))", re.DOTALL)
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")
_WRITES = re.compile(r"\b(?:insert|merge|update|delete|overwrite|cache|create|drop|alter|set)\b", re.IGNORECASE)


def _reads_only(sql: str) -> bool:
    """Whether `sql` can only read: a `select`, or a `with` query none of whose words could make it a write (Spark
    allows `with ... insert into ...`). Unsure means no: the statement then runs as dbt-spark runs it."""
    while match := _LEADING_COMMENT.match(sql):
        sql = sql[match.end() :]
    first = _FIRST_WORD.match(sql)
    keyword = first.group(1).lower() if first else ""
    return keyword == "select" or (keyword == "with" and not _WRITES.search(sql))


def _row_description(cursor) -> list[tuple]:
    frame = cursor._df
    if frame is None:
        return []
    rows = cursor.fetchall()
    if not rows:
        return [(f.name, f.dataType.simpleString(), None, None, None, None, f.nullable) for f in frame.schema.fields]
    names, values = rows[0].__fields__, rows[0]
    return [(name, type(value), None, None, None, None, True) for name, value in zip(names, values, strict=True)]


def landed_bytes(spark, since: datetime | None = None) -> int:
    """Raw bytes of the files ingested into bronze (since `since`), from the transfer log: the data a build reads."""
    try:
        log = f"{schema('bronze')}.ingestion_transfer_log"
    except SettingsError:  # an environment dbt refuses on its own (macros/assert_environment.sql), in its words
        return 0
    if not spark.catalog.tableExists(log):
        return 0
    where = "status = 'committed'"
    if since is not None:
        where += f" and finished_at > timestamp '{since.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S.%f}'"
    return spark.sql(f"select coalesce(sum(file_size), 0) from {log} where {where}").first()[0]


def build_changed(args: list[str] | None = None, spark_settings: SparkSettings | None = None):
    """`dbt build` of what new data or changed code can affect, not of everything (selectors.yml's `changed`):
    the nodes downstream of sources loaded since the last successful build (dbt's `source_status:fresher+`, from
    `dbt source freshness` on each source's `_ingested_at`) with their data tests, and the nodes changed since then
    (`state:modified+`) with their data and unit tests. The first build, a
    `--full-refresh`, or one after a `--select` builds what dbt would. The artifacts of the last successful build
    are kept in <LAKEHOUSE_HOME>/dbt-state/<env>; a failed build leaves them as they were, so its work is redone.
    Returns dbt's result of the build.
    """
    args = list(args or [])
    state = state_dir() / "dbt-state" / environment()
    target = Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_ROOT / "target")
    partial = any(arg in ("--select", "-s", "--exclude", "--selector") for arg in args)
    # Freshness first: data landing during the build is newer than what this build saw, so the next one takes it.
    freshness = run_dbt(["source", "freshness"], spark_settings).exception is None
    known = freshness and (state / "sources.json").exists() and (state / "manifest.json").exists()
    since = None
    if known and not partial and "--full-refresh" not in args:
        args = ["--selector", "changed", "--state", str(state), *args]
        since = datetime.fromtimestamp((state / "sources.json").stat().st_mtime, timezone.utc)
    result = run_dbt(["build", *args], spark_settings, landed_since=since)
    if result.success and freshness and not partial:
        state.mkdir(parents=True, exist_ok=True)
        for artifact in ("sources.json", "manifest.json"):
            shutil.copy2(target / artifact, state / artifact)
    return result
