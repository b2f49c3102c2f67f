"""What the user sees: a live progress bar while files are ingested, then one summary table."""

from __future__ import annotations

from contextlib import contextmanager

from pyspark.sql import functions as F
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingestion.errors import listed
from ingestion.ingest import FileResult, SourceResult

MB = 1024 * 1024


@contextmanager
def ingest_progress(console: Console, totals: dict[str, tuple[int, int]]):
    """Yield a callback for Ingestor(progress=...). `totals` maps source -> (files, bytes) expected."""
    progress = Progress(
        TextColumn("[bold]{task.description:<18}"),
        BarColumn(),
        TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks = {
        source: progress.add_task(source, total=max(size, 1), files=0, total_files=count, rows=0)
        for source, (count, size) in totals.items()
    }

    def advance(source: str, result: FileResult) -> None:
        task = tasks.get(source)
        if task is None:
            task = tasks[source] = progress.add_task(source, total=None, files=0, total_files=0, rows=0)
        current = progress.tasks[task]
        progress.update(
            task,
            advance=result.file.size,
            files=current.fields["files"] + 1,
            rows=current.fields["rows"] + result.records_read,
        )

    with progress:
        yield advance


def summary_table(results: list[SourceResult]) -> Table:
    table = Table(title="ingestion summary", title_justify="left")
    for column in ("source", "files", "rows written", "rescued", "quarantined", "MB", "MB/s", "status"):
        table.add_column(column, justify="left" if column in ("source", "status") else "right", no_wrap=True)
    for result in results:
        ingested = result.count("committed")
        mb = result.bytes / MB
        table.add_row(
            result.source,
            f"{ingested:,}",
            f"{result.total('rows_written'):,}",
            f"{result.total('rows_rescued'):,}",
            f"{result.total('rows_quarantined'):,}",
            f"{mb:,.1f}",
            f"{mb / result.seconds:,.1f}" if result.seconds and ingested else "-",
            "[green]ok[/]" if result.ok else "[red]incomplete[/]",
        )
    return table


def notes(results: list[SourceResult]) -> list[str]:
    """What the table cannot show: schema changes, recoveries, failures."""
    lines = []
    for result in results:
        if result.new_columns:
            lines.append(f"{result.source}: new columns added to bronze: {listed(result.new_columns, 50)}")
        if result.rescued_columns:
            lines.append(f"{result.source}: unknown columns kept in _rescued_data: {listed(result.rescued_columns)}")
        if result.capped_columns:
            lines.append(
                f"{result.source}: {len(result.capped_columns)} more new column(s) kept in _rescued_data, over "
                f"max_new_columns_per_batch: {listed(result.capped_columns)}"
            )
        if result.hidden_files:
            lines.append(
                f"{result.source}: {result.hidden_files} file(s) skipped: a name or folder starting with _ or . is "
                "hidden by convention (markers, in-progress uploads)"
            )
        if result.recovered_batches:
            batches = ", ".join(map(str, result.recovered_batches))
            lines.append(
                f"{result.source}: logged batch {batches}, committed to bronze by another run "
                "(running, or stopped before logging)"
            )
        if result.error:
            lines.append(f"[red]{result.source}: {result.error}[/]")
    return lines


def problems(results: list[SourceResult]) -> list[str]:
    """One line per file that was not ingested, naming source, file and cause."""
    lines = []
    for result in results:
        lines += [f"{result.source}: {r.error}" for r in result.files if r.status in ("failed", "rewrite_ignored")]
    return lines


def table_names(spark, schema: str) -> list[str]:
    """The tables (not views) of `schema`, sorted. By SQL: the catalog API's listTables cannot decode its rows
    while queries are interpreted (runtime/spark.py's fit_codegen)."""
    views = {row.viewName for row in spark.sql(f"show views in `{schema}`").collect()}
    found = {row.tableName for row in spark.sql(f"show tables in `{schema}`").collect() if not row.isTemporary}
    return sorted(found - views)


def layer_summary(spark, console: Console, env: str | None = None, sample_rows: int = 3) -> None:
    """Rows per table in each layer, expectation failures per rule, and a few rows of each gold table."""
    from runtime.project import layers, schema

    table = Table(title="lakehouse layers", title_justify="left")
    for column in ("layer", "table", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    gold_tables = []
    for layer in layers():
        name = schema(layer, env)
        if not spark.catalog.databaseExists(name):
            continue
        for entry in table_names(spark, name):
            rows = spark.table(f"`{name}`.`{entry}`").count()
            table.add_row(layer, f"{name}.{entry}", f"{rows:,}")
            if layer == "gold":
                gold_tables.append(f"`{name}`.`{entry}`")
    console.print(table)
    results = f"{schema('silver', env)}.expectation_results"
    if spark.catalog.tableExists(results):
        latest = spark.table(results).orderBy(F.col("recorded_at").desc()).limit(1).collect()
        if latest:
            console.print("[bold]expectations of the latest build[/] (dropped rows are in expectation_quarantine)")
            rows = (
                spark.table(results)
                .where(F.col("invocation_id") == latest[0]["invocation_id"])
                .select("model_name", "rule_name", "action", "rows_checked", "rows_failed", "outcome")
                .orderBy("model_name", "rule_name")
            )
            console.print(rows.toPandas().to_string(index=False))
    for name in gold_tables:
        console.print(f"[bold]{name.replace('`', '')}[/] (first {sample_rows} rows)")
        console.print(spark.table(name).limit(sample_rows).toPandas().to_string(index=False))
