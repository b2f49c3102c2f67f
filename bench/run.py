"""Benchmarks: ingestion and dbt builds against their baselines, measured in one run, reported as ratios.

    .venv/bin/python bench/run.py --scale small       # smoke run (a minute or two)
    .venv/bin/python bench/run.py --scale reference   # ~1 GB of raw heart-rate JSON (the figures in BENCHMARKS.md)
    .venv/bin/python bench/run.py --scale reference --days 2   # the same hourly batch on less history (the curve)

Everything runs in one process and one Spark session, on a state folder of its own (.lakehouse/bench), so the
baseline and the measured path see the same JVM, the same files and the same machine load. Each figure is
repeated (--repeat) and reported as median [min-max]. Peak memory is the Spark JVM's peak resident set during the
step (VmHWM, reset before each step).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALES = {  # name -> (generator scale, days): days - 1 whole days, then one hour of the last day incrementally
    "small": (0.5, 3),
    "reference": (24.0, 7),
}
MB = 1024 * 1024


@dataclass
class Figure:
    name: str
    values: list[float] = field(default_factory=list)
    unit: str = "s"
    peak_mb: list[float] = field(default_factory=list)

    def summary(self) -> str:
        if not self.values:
            return "-"
        fmt = "{:,.1f}" if self.unit != "x" else "{:,.2f}"
        med, low, high = statistics.median(self.values), min(self.values), max(self.values)
        return f"{fmt.format(med)} {self.unit} [{fmt.format(low)}-{fmt.format(high)}]"

    def median(self) -> float:
        return statistics.median(self.values)


def _jvm_pid() -> int | None:
    out = subprocess.run(["pgrep", "-P", str(os.getpid()), "java"], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


class Memory:
    """Peak RSS of the Spark JVM over a step: reset the high-water mark, read it after."""

    def __init__(self):
        self.pid = _jvm_pid()

    def reset(self) -> None:
        if self.pid:
            with contextlib.suppress(OSError):
                Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def peak_mb(self) -> float:
        if not self.pid:
            return float("nan")
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def timed(figure: Figure, memory: Memory, action):
    memory.reset()
    started = time.perf_counter()
    result = action()
    figure.values.append(time.perf_counter() - started)
    figure.peak_mb.append(memory.peak_mb())
    return result


def _reset_bronze(spark, env: str) -> None:
    from runtime.project import schema

    bronze = schema("bronze", env)
    spark.sql(f"drop database if exists `{bronze}` cascade")
    shutil.rmtree(Path(spark.conf.get("spark.sql.warehouse.dir")) / f"{bronze}.db", ignore_errors=True)


def _ingestor(spark, config):
    """An ingestor as `lakehouse ingest run` makes one: it compiles its queries only for enough data."""
    from ingestion.ingest import Ingestor
    from runtime.spark import ingestion_codegen

    return Ingestor(spark, config, bronze_schema="dev_bronze", before_run=ingestion_codegen(spark))


def bench_ingestion(spark, config, landing_bytes: int, repeat: int, memory: Memory, figures: dict) -> dict:
    """Ours (all sources, exactly-once machinery included) vs plain Spark: explicit schema, read, write Delta."""
    from pyspark.sql import types as T

    from ingestion.storage import Storage

    ours, plain = Figure("ingestion: ours"), Figure("ingestion: plain Spark read + Delta write")
    rows = 0
    baseline_dir = Path(spark.conf.get("spark.sql.warehouse.dir")) / "bench_baseline"
    for _ in range(repeat):
        _reset_bronze(spark, "dev")

        def run_ours():
            ingestor = _ingestor(spark, config)
            return ingestor.run_all(list(config.sources.values()))

        results = timed(ours, memory, run_ours)
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        rows = sum(r.total("records_read") for r in results)

        shutil.rmtree(baseline_dir, ignore_errors=True)

        def run_plain():
            for source in config.sources.values():
                files = [f.path for f in Storage().list_files(source.uri).files]
                schema = T.StructType(
                    [T.StructField(n, T.DataType.fromDDL(t)) for n, t in (source.schema or {}).items()]
                )
                reader = spark.read.schema(schema)
                frame = reader.json(files) if source.format == "json" else reader.csv(files, header=True)
                frame.write.format("delta").mode("append").save(str(baseline_dir / source.name))

        timed(plain, memory, run_plain)
    figures["ingest_ours"], figures["ingest_plain"] = ours, plain
    ratio = Figure(
        "ingestion: ours / plain (time)", [o / p for o, p in zip(ours.values, plain.values, strict=False)], "x"
    )
    figures["ingest_ratio"] = ratio
    return {"rows": rows, "bytes": landing_bytes}


def _dbt(args: list[str]):
    from runtime.dbt import run_dbt

    result = run_dbt(args)
    if not result.success:
        failed = [r.node.name for r in (result.result or []) if str(r.status) in ("error", "fail")]
        raise SystemExit(f"dbt {' '.join(args)} failed: {result.exception or ', '.join(failed)}")
    return result


def _node_timings(target: Path) -> dict[str, float]:
    results = json.loads((target / "run_results.json").read_text())
    return {r["unique_id"]: r["execution_time"] for r in results["results"]}


def _latest_versions(spark, relations: list[str]) -> dict[str, int]:
    return {relation: spark.sql(f"describe history {relation} limit 1").first().version for relation in relations}


def _delta_rewrites(spark, before: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Per table the build committed to (its version moved on from `before`): files removed and added by its latest
    commit (what the incremental run rewrote). Tables the build did not touch are left out."""
    rewrites = {}
    for relation, version in before.items():
        last = spark.sql(f"describe history {relation} limit 1").first()
        if last.version == version:
            continue
        metrics = last.operationMetrics or {}
        removed = int(metrics.get("numRemovedFiles", metrics.get("numTargetFilesRemoved", 0)))
        added = int(metrics.get("numAddedFiles", metrics.get("numTargetFilesAdded", metrics.get("numFiles", 0))))
        rewrites[relation] = (removed, added)
    return rewrites


def bench_dbt(spark, config, land_batch, repeat: int, memory: Memory, figures: dict, target: Path):
    """Full refresh over everything; a build with nothing new; one more hourly batch built incrementally.
    `lakehouse build` (what new data or changed code affects) is the measured path; a plain `dbt build` of
    everything is measured beside it."""
    from runtime.dbt import build_changed

    def changed():
        result = build_changed()
        if not result.success:
            raise SystemExit("lakehouse build failed")

    full, noop, noop_all = (
        Figure("dbt build --full-refresh"),
        Figure("lakehouse build, nothing new"),
        Figure("dbt build of everything, nothing new"),
    )
    parse = Figure("dbt parse (part of every build)")
    incremental_models: list[str] = []
    for attempt in range(repeat):
        timed(full, memory, lambda: _dbt(["build", "--full-refresh"]))
        changed()  # records the state the next builds compare with
        timed(noop, memory, changed)
        timed(noop_all, memory, lambda: _dbt(["build"]))
        _dbt(["parse"])  # the same partial parse a build starts with; only `dbt parse` writes perf_info.json
        parse.values.append(json.loads((target / "perf_info.json").read_text())["load_all_elapsed"])
        if attempt == 0:
            manifest = json.loads((target / "manifest.json").read_text())
            incremental_models = [
                node["relation_name"]
                for node in manifest["nodes"].values()
                if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
            ]
    # One hourly batch, ingested and built once (it cannot be repeated on the same data); then the next hour with
    # a plain dbt build of everything.
    ingest_batch = Figure("ingestion of the hourly batch (all sources)")
    incremental = Figure("lakehouse build after one more hourly batch")
    incremental_all = Figure("dbt build of everything after the next hourly batch")
    batch_bytes = 0
    for hour, figure in ((7, incremental), (8, incremental_all)):
        land_batch(hour)
        ingestor = _ingestor(spark, config)
        results = timed(ingest_batch, memory, functools.partial(ingestor.run_all, list(config.sources.values())))
        assert all(result.ok for result in results), [r.error for r in results if not r.ok]
        batch_bytes = batch_bytes or sum(r.bytes for r in results)
        versions = _latest_versions(spark, incremental_models)
        timed(figure, memory, changed if figure is incremental else lambda: _dbt(["build"]))
        if figure is incremental:
            nodes = _node_timings(target)
            rewrites = _delta_rewrites(spark, versions)
    figures.update(
        dbt_full=full,
        dbt_noop=noop,
        dbt_noop_all=noop_all,
        dbt_incremental=incremental,
        dbt_incremental_all=incremental_all,
        dbt_parse=parse,
        ingest_batch=ingest_batch,
    )
    figures["dbt_ratio"] = Figure("dbt: incremental / full refresh (time)", [incremental.median() / full.median()], "x")
    figures["noop_ratio"] = Figure("dbt: nothing new / full refresh (time)", [noop.median() / full.median()], "x")
    figures["batch_bytes"] = Figure("batch", [batch_bytes], "B")
    return rewrites, nodes


ALONE_HOURS = range(9, 12)  # one batch varies by more than a second on this machine: the median of several


def bench_batch_alone(spark, config, land_batch, figures: dict) -> None:
    """The fixed cost per batch: the next hours, each source's batch ingested alone, one source after another (the
    sources with a file in that hour: the orders domain lands whole days); the median over sources and hours."""
    alone = Figure("ingestion of one source's hourly batch, alone (median of the sources and hours)")
    for hour in ALONE_HOURS:
        land_batch(hour)
        for source in config.sources.values():
            started = time.perf_counter()
            result = _ingestor(spark, config).run(source)
            assert result.ok, result.error
            if result.files:
                alone.values.append(time.perf_counter() - started)
    figures["ingest_batch_alone"] = alone


def file_counts(spark) -> dict[str, int]:
    """Data files of every Delta table of the dev environment (the small-file picture)."""
    from runtime.report import table_names

    counts = {}
    for layer in ("bronze", "silver", "gold"):
        for table in table_names(spark, f"dev_{layer}"):
            detail = spark.sql(f"describe detail `dev_{layer}`.`{table}`").first()
            if detail.format == "delta":
                counts[f"dev_{layer}.{table}"] = detail.numFiles
    return counts


def machine() -> str:
    import dbt.version
    import pyspark

    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return (
        f"{os.cpu_count()} cores, {memory_gb:.0f} GB, {platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}, {java}, pyspark {pyspark.__version__}, dbt-core {dbt.version.__version__}"
    )


def report(scale: str, days: int, figures: dict, ingest: dict, rewrites: dict, nodes: dict, repeat: int) -> str:
    ours, plain = figures["ingest_ours"], figures["ingest_plain"]
    mb = ingest["bytes"] / MB
    lines = [
        f"### Scale `{scale}`, {days} days ({mb:,.0f} MB landed, {ingest['rows']:,} records), "
        f"{datetime.now(timezone.utc):%Y-%m-%d}",
        "",
        f"Machine: {machine()}. Median [min-max] of {repeat} runs.",
        "",
        "| step | time | throughput | peak JVM RSS |",
        "|---|---|---|---|",
    ]
    for key in ("ingest_ours", "ingest_plain"):
        figure = figures[key]
        rate = f"{mb / figure.median():,.1f} MB/s, {ingest['rows'] / figure.median():,.0f} rows/s"
        lines.append(f"| {figure.name} | {figure.summary()} | {rate} | {max(figure.peak_mb):,.0f} MB |")
    for key in (
        "ingest_batch",
        "ingest_batch_alone",
        "dbt_full",
        "dbt_noop",
        "dbt_noop_all",
        "dbt_incremental",
        "dbt_incremental_all",
        "dbt_parse",
    ):
        figure = figures[key]
        peak = f"{max(figure.peak_mb):,.0f} MB" if figure.peak_mb else "-"
        lines.append(f"| {figure.name} | {figure.summary()} | | {peak} |")
    ratio = ours.median() / plain.median()
    dbt_ratio = figures["dbt_ratio"].median()
    noop_ratio = figures["noop_ratio"].median()
    alone = figures["ingest_batch_alone"].median()
    share = figures["batch_bytes"].median() / ingest["bytes"]
    lines += [
        "",
        f"- Our ingestion / plain Spark: **{ratio:.2f}x** (goal ≤ 1.5x: {'met' if ratio <= 1.5 else 'missed'}).",
        f"- One source's hourly batch alone (the fixed cost per batch): **{alone:.2f} s** "
        f"(goal ≤ 1.5 s: {'met' if alone <= 1.5 else 'missed'}).",
        f"- `lakehouse build` after one more hourly batch ({share:.1%} of the data landed) / full refresh: "
        f"**{dbt_ratio:.0%}** "
        f"(goal ≤ 10%: {'met' if dbt_ratio <= 0.10 else 'missed'}).",
        f"- Build with nothing new / full refresh: **{noop_ratio:.0%}** "
        f"(goal ≤ 5%: {'met' if noop_ratio <= 0.05 else 'missed'}).",
        f"- dbt fixed cost (nothing new): {figures['dbt_noop'].summary()}, of which parsing "
        f"{figures['dbt_parse'].summary()}; the rest is running {len(nodes)} nodes (seed, models, tests) "
        f"and their metadata queries: {sum(nodes.values()):,.1f} s of node execution summed over dbt's threads "
        "in the incremental build (`lakehouse build`).",
        "",
        "Delta files rewritten by each incremental model the incremental build committed to (removed / added):",
        "",
    ]
    lines += [f"- `{relation}`: {removed} / {added}" for relation, (removed, added) in sorted(rewrites.items())]
    slowest = sorted(nodes.items(), key=lambda item: -item[1])[:8]
    lines += [
        "",
        "Slowest nodes of the incremental build: " + ", ".join(f"`{n.split('.')[2]}` {t:.1f} s" for n, t in slowest),
        "",
        "Delta data files per table after the incremental build: "
        + ", ".join(f"`{table}` {count}" for table, count in sorted(figures["file_counts"].items())),
    ]
    return "\n".join(lines) + "\n"


def publish(section: str, output: Path | None) -> None:
    """Print a benchmark's section and append it to `output` (BENCHMARKS.md)."""
    print(section)
    if output:
        with output.open("a") as out:
            out.write("\n" + section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--days",
        type=int,
        help="days of data instead of the scale's (at least 2): the hourly batch is the same size, the history not",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="append the section here")
    args = parser.parse_args(argv)

    scale, days = SCALES[args.scale]
    days = days if args.days is None else args.days
    if days < 2:
        parser.error("--days: at least 2 (one whole day, then hours of the next)")
    state = ROOT / ".lakehouse" / f"bench-{args.scale}"
    shutil.rmtree(state, ignore_errors=True)
    os.environ.update(LAKEHOUSE_HOME=str(state), LAKEHOUSE_ENV="dev", DBT_TARGET_PATH=str(state / "dbt-target"))
    os.environ.pop("LAKEHOUSE_LANDING_URI", None)
    sys.path.insert(0, str(ROOT))
    from generator import DOMAINS, generate, local_writer
    from runtime.project import load_config
    from runtime.spark import SparkSettings, get_spark

    landing = state / "landing"
    os.environ["LAKEHOUSE_LANDING_URI"] = str(landing)
    config = load_config()

    def generate_day(day: int) -> None:  # every domain, so a full refresh is of data, not of empty tables
        for domain in DOMAINS.values():
            domain.generate(local_writer(landing), days=range(day, day + 1), seed=42, scale=scale)

    def land_batch(hour: int) -> None:  # one hour of the last day: about 1/(24 x days) of the data
        hourly = {"batches_per_day": 24, "batches": range(hour, hour + 1)}
        generate(local_writer(landing), days=range(days - 1, days), seed=42, scale=scale, **hourly)

    for day in range(days - 1):
        generate_day(day)
    landed = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file() and "_manifest" not in p.parts)
    spark = get_spark(SparkSettings(state=state))
    memory = Memory()
    figures: dict[str, Figure] = {}
    ingest = bench_ingestion(spark, config, landed, args.repeat, memory, figures)
    rewrites, nodes = bench_dbt(spark, config, land_batch, args.repeat, memory, figures, state / "dbt-target")
    figures["file_counts"] = file_counts(spark)
    bench_batch_alone(spark, config, land_batch, figures)  # after the file counts: it adds bronze files
    publish(report(args.scale, days, figures, ingest, rewrites, nodes, args.repeat), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
