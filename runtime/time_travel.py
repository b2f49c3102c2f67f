"""Time travel: a table's Delta history, and its rows as of a version or a timestamp.

Tables are named `<layer>.<table>` (e.g. `silver.<model>`), the layer one of dbt_project.yml's, in the current
environment's schema (runtime/project.py). Spark SQL only (`describe history`, `version as of`, `timestamp as
of`), so the same code runs on the in-process session and on the engine. Every problem, bad input or Spark's,
is one LakehouseError naming the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.errors import PySparkException
from rich.table import Table
from rich.text import Text

from ingestion.config import validate_identifier
from ingestion.errors import ConfigError
from runtime.errors import LakehouseError
from runtime.project import layers, schema

# A date, or a date and time to the microsecond, read in the session's time zone (UTC locally): what
# macros/as_of.sql accepts, and how history() writes a version's timestamp.
TIMESTAMP = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?)?"
)

# How Spark's messages start (e.g. [DELTA_VERSION_NOT_FOUND]), and what follows the message itself: its SQLSTATE
# and query plan, or on Spark Connect the server's JVM stack trace.
ERROR_CLASS = re.compile(r"^\[[A-Z0-9_.]+\] ")
SPARK_DETAIL = re.compile(r"SQLSTATE:|JVM stacktrace:")


def table_name(name: str, env: str | None = None) -> str:
    """`<layer>.<table>` -> `<schema>`.`<table>`, quoted, in the layer's schema of `env` (default: the current)."""
    layer, dot, table = name.partition(".")
    if not dot or layer not in layers():
        raise LakehouseError(f"{name!r} is not <layer>.<table> with a layer among {', '.join(layers())}")
    try:
        validate_identifier(table, f"{name}: table")
    except ConfigError as exc:
        raise LakehouseError(str(exc)) from None
    return f"`{schema(layer, env)}`.`{table}`"


def history(spark, name: str, limit: int = 20) -> list:
    """The table's newest `limit` versions, newest first, as rows of: version; timestamp (session time zone, to
    the millisecond, as `timestamp as of` takes it); operation; row_metrics (its operation metrics counting
    rows, those not zero)."""
    _check_limit(name, limit)
    table = _existing(spark, name)
    with _spark_errors(name):
        return (
            spark.sql(f"describe history {table} limit {limit}")
            .selectExpr(
                "version",
                "date_format(timestamp, 'yyyy-MM-dd HH:mm:ss.SSS') as timestamp",
                "operation",
                "map_filter(operationMetrics, (metric, value) -> metric like '%Rows%' and value != '0') as row_metrics",
            )
            .collect()
        )


def as_of(spark, name: str, *, version: int | None = None, timestamp: str | None = None):
    """The table's rows (a DataFrame) at `version`, or at `timestamp` (the latest version committed at or before
    it), or now when neither is given. A version or time outside the table's history fails here, not later."""
    clause = _as_of_clause(name, version, timestamp)
    table = _existing(spark, name)
    with _spark_errors(name):
        frame = spark.sql(f"select * from {table}{clause}")
        frame.schema  # noqa: B018 (a Spark Connect session analyses only when asked: ask now)
    return frame


def history_table(spark, name: str, limit: int = 20) -> Table:
    """history() as a table to print: `lakehouse history`."""
    table = Table(title=f"history of {name}, newest first", title_justify="left")
    for column in ("version", "timestamp", "operation", "rows"):
        table.add_column(column, justify="right" if column == "version" else "left")
    for row in history(spark, name, limit):
        metrics = ", ".join(f"{metric}={value}" for metric, value in sorted(row.row_metrics.items()))
        table.add_row(str(row.version), row.timestamp, row.operation, metrics or "-")
    return table


def rows_table(spark, name: str, *, version: int | None = None, timestamp: str | None = None, limit: int = 20) -> Table:
    """The first `limit` rows of as_of() as a table to print: `lakehouse show`."""
    _check_limit(name, limit)
    frame = as_of(spark, name, version=version, timestamp=timestamp)
    with _spark_errors(name):  # e.g. the version's data files were vacuumed
        rows = frame.limit(limit).collect()
    when = f"version {version}" if version is not None else timestamp or "now"
    table = Table(title=f"{name} as of {when} (at most {limit} rows)", title_justify="left")
    for column in frame.columns:
        table.add_column(Text(column), overflow="fold")
    for row in rows:  # Text: values are shown as they are, never read as rich markup
        table.add_row(*(Text("NULL" if value is None else str(value)) for value in row))
    return table


def _as_of_clause(name: str, version, timestamp) -> str:
    if version is not None and timestamp is not None:
        raise LakehouseError(f"{name}: give a version or a timestamp, not both")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise LakehouseError(f"{name}: version {version!r} is not a non-negative integer")
        return f" version as of {version}"
    if timestamp is not None:
        if not isinstance(timestamp, str) or not TIMESTAMP.fullmatch(timestamp):
            raise LakehouseError(
                f"{name}: timestamp {timestamp!r} is not 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS[.ffffff]'"
            )
        return f" timestamp as of '{timestamp}'"
    return ""


def _check_limit(name: str, limit) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise LakehouseError(f"{name}: limit {limit!r} is not a positive integer")


def _existing(spark, name: str) -> str:
    table = table_name(name)
    if not spark.catalog.tableExists(table):
        raise LakehouseError(f"{name}: no such table ({table.replace('`', '')})")
    return table


@contextmanager
def _spark_errors(name: str) -> Iterator[None]:
    """Spark's error as one line naming the table: its message, without error class, SQLSTATE, plan or trace."""
    try:
        yield
    except PySparkException as exc:
        message = ERROR_CLASS.sub("", " ".join(SPARK_DETAIL.split(str(exc))[0].split()))
        raise LakehouseError(f"{name}: {message}") from exc
