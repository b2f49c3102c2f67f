"""Ingestion of a hostile landing folder in every schema-evolution mode, against plain Spark reading the same files.

    .venv/bin/python bench/hostile.py            # appends a section to BENCHMARKS.md

The folder is what a new user's first landing zone can look like (33 files, about 18 MB): one record with 3,000
keys, one 8 MB value on one line, 200,000 small lines, 250 new columns spread over 500 lines, a truncated gzip, and
28 ordinary files. Everything runs in one process and one Spark session on a state folder of its own
(.lakehouse/bench-hostile); each mode ingests into a bronze schema of its own, so every mode sees the same files from
nothing. Goal: under 60 s in every mode; the output also says where every record went (rows, rescued, quarantined)
and how many columns each mode added.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.run import machine, publish  # noqa: E402

SCHEMA = {"id": "bigint", "v": "string", "ts": "timestamp"}
GOAL_SECONDS = 60


def _line(i: int, **extra) -> str:
    return json.dumps({"id": i, "v": f"v{i % 97}", "ts": "2026-01-01T00:00:00Z", **extra}, separators=(",", ":"))


def land(folder: Path) -> dict[str, int]:
    """Write the hostile folder; returns file name -> records it holds (the broken gzip: 0)."""
    folder.mkdir(parents=True)
    files: dict[str, list[str]] = {
        "wide.json": [_line(0, **{f"k{i:04d}": i for i in range(3000)}), *(_line(i) for i in range(1, 101))],
        "long-line.json": [_line(0, blob="x" * (8 * 1024 * 1024)), *(_line(i) for i in range(1, 2001))],
        "many-lines.json": [_line(i) for i in range(200_000)],
        "drift.json": [_line(i, **{f"extra_{i % 250:03d}": i}) for i in range(500)],
        **{f"ordinary-{n:02d}.json": [_line(n * 1000 + i) for i in range(100)] for n in range(28)},
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    whole = gzip.compress("\n".join(_line(i) for i in range(20_000)).encode())
    (folder / "broken.json.gz").write_bytes(whole[: len(whole) // 3])
    return {**{name: len(lines) for name, lines in files.items()}, "broken.json.gz": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="append the section here")
    args = parser.parse_args(argv)

    state = ROOT / ".lakehouse" / "bench-hostile"
    shutil.rmtree(state, ignore_errors=True)
    os.environ.update(LAKEHOUSE_HOME=str(state), LAKEHOUSE_ENV="dev")
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from ingestion.config import EVOLUTION_MODES, parse_config
    from ingestion.ingest import Ingestor
    from runtime.spark import SparkSettings, get_spark, ingestion_codegen

    landing = state / "landing"
    records = land(landing / "hostile")
    landed = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
    spark = get_spark(SparkSettings(state=state))

    def plain(run: int) -> float:
        """The baseline: the declared columns only, corrupt files skipped, appended to a Delta table."""
        started = time.perf_counter()
        schema = T.StructType([T.StructField(n, T.DataType.fromDDL(t)) for n, t in SCHEMA.items()])
        frame = spark.read.schema(schema).option("ignoreCorruptFiles", "true").json(str(landing / "hostile"))
        frame.write.format("delta").mode("append").save(str(state / f"plain-{run}"))
        return time.perf_counter() - started

    def ours(mode: str, run: int) -> tuple[float, dict]:
        sources = {"hostile": {"path": "hostile", "format": "json", "schema": SCHEMA, "schema_evolution": mode}}
        config = parse_config({"sources": sources}, landing_uri=landing.as_uri())
        bronze = f"hostile_{mode.lower()}_{run}"
        started = time.perf_counter()
        ingestor = Ingestor(spark, config, bronze_schema=bronze, before_run=ingestion_codegen(spark))
        (result,) = ingestor.run_all(list(config.sources.values()))
        seconds = time.perf_counter() - started
        table = spark.table(f"{bronze}.{config.sources['hostile'].table}")
        data_columns = [c for c in table.columns if not c.startswith("_")]
        counts = table.agg(
            F.count("*").alias("rows"),
            F.count_if(F.col("_rescued_data").isNotNull()).alias("rescued"),
            F.count_if(F.col("_corrupt_record").isNotNull()).alias("quarantined"),
        ).first()
        return seconds, {
            "rows": counts.rows,
            "rescued": counts.rescued,
            "quarantined": counts.quarantined,
            "added": len(data_columns) - len(SCHEMA),
            "failed": result.count("failed"),
            "error": result.error,
        }

    plain_seconds: list[float] = []
    seconds: dict[str, list[float]] = {mode: [] for mode in EVOLUTION_MODES}
    outcome: dict[str, dict] = {}
    for run in range(args.repeat):  # the JVM warms up on the first run; the median keeps the later ones
        plain_seconds.append(plain(run))
        for mode in EVOLUTION_MODES:
            took, outcome[mode] = ours(mode, run)
            seconds[mode].append(took)
            print(f"run {run}: {mode} {took:.1f} s {outcome[mode]}", flush=True)
    spark.stop()

    baseline = statistics.median(plain_seconds)
    expected = sum(records.values())
    lines = [
        f"### Hostile landing folder ({len(records)} files, {landed / 1024**2:,.1f} MB, {expected:,} records), "
        f"{datetime.now(timezone.utc):%Y-%m-%d}",
        "",
        f"Machine: {machine()}. Median [min-max] of {args.repeat} runs (`bench/hostile.py`); plain Spark (declared "
        f"columns only, corrupt files skipped): {baseline:.1f} s [{min(plain_seconds):.1f}-{max(plain_seconds):.1f}].",
        "",
        "| mode | time | / plain | rows in bronze | rescued | quarantined | columns added | files failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode in EVOLUTION_MODES:
        values, out = seconds[mode], outcome[mode]
        median = statistics.median(values)
        lines.append(
            f"| `{mode}` | {median:.1f} s [{min(values):.1f}-{max(values):.1f}] | {median / baseline:.1f}x | "
            f"{out['rows']:,} | {out['rescued']:,} | {out['quarantined']:,} | {out['added']} | {out['failed']} |"
        )
    slowest = max(statistics.median(values) for values in seconds.values())
    verdict = "met" if slowest < GOAL_SECONDS else "missed"
    lines += [
        "",
        f"- Slowest mode: **{slowest:.1f} s** (goal < {GOAL_SECONDS} s: {verdict}).",
        f"- Records in the readable files: {expected:,}; the truncated gzip fails alone in every mode.",
    ]
    lines += [f"- `{mode}` stopped: {out['error']}" for mode, out in outcome.items() if out["error"]]
    publish("\n".join(lines) + "\n", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
