"""The engine's benchmark: the same `lakehouse` commands run cold (each process starts its own Spark) and warm
(every command connects to one running engine, `lakehouse engine start`), on the same data, in one run.

    .venv/bin/python bench/engine.py [--scale 0.5] [--repeat 3] [--output BENCHMARKS.md]
    .venv/bin/python bench/engine.py --cluster [--scale 0.5] [--output BENCHMARKS.md]

With --cluster: one day landed, then ingested and built from nothing in process (local[cores]) and through an
engine whose Spark runs as a cluster of two one-core executors (`local-cluster[2,1,1024]`: a master and workers in
separate JVMs on this machine), side by side. The rows are compared by pytests/integration/test_engine.py.

Each command is a separate process, as a user or a scheduler runs it. Measured: `lakehouse dbt build` with
nothing new (every node rebuilt, as dbt does), `lakehouse build` with nothing new (selects nothing), and
`lakehouse ingest run` with nothing new. The ratio warm / cold is the figure; absolute times vary by machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAKEHOUSE = [sys.executable, "-m", "runtime.cli"]
COMMANDS = {
    "dbt build, nothing new (every node)": ["dbt", "build"],
    "lakehouse build, nothing new": ["build"],
    "ingest run, nothing new": ["ingest", "run"],
}


def _run(env: dict, *args: str) -> float:
    started = time.monotonic()
    done = subprocess.run([*LAKEHOUSE, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"`lakehouse {' '.join(args)}` failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.5, help="generator scale of the one day landed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, help="append the section to this file (default: print it)")
    parser.add_argument("--cluster", action="store_true", help="cluster vs local wall times instead")
    args = parser.parse_args(argv)
    section = cluster_vs_local(args.scale) if args.cluster else warm_vs_cold(args.scale, args.repeat)
    if args.output:
        with args.output.open("a") as out:
            out.write("\n" + section)
    print(section)
    return 0


def _home(scale: float) -> dict:
    home = Path(tempfile.mkdtemp(prefix="lakehouse-bench-engine-"))
    env = {**os.environ, "LAKEHOUSE_HOME": str(home), "LAKEHOUSE_ENV": "dev"}
    env.pop("LAKEHOUSE_ENGINE", None)
    _run(env, "generate", "--days", "1", "--scale", str(scale))
    return env


def cluster_vs_local(scale: float) -> str:
    local, cluster = _home(scale), _home(scale)
    times = {"local": [_run(local, "ingest", "run"), _run(local, "build")]}
    start = _run(cluster, "engine", "start", "--master", "local-cluster[2,1,1024]", "--port", "15098")
    try:
        times["cluster"] = [_run(cluster, "ingest", "run"), _run(cluster, "build")]
    finally:
        _run(cluster, "engine", "stop")
    lines = [
        f"### Cluster vs local ({time.strftime('%Y-%m-%d')}, scale {scale}, one day, from nothing)",
        "",
        "Local: each command in its own process with in-process Spark (`local[cores]`). Cluster: every command",
        "through an engine on `local-cluster[2,1,1024]` (two one-core executors in their own JVMs; engine started",
        f"in {start:.1f} s).",
        "",
        "| step | local (s) | cluster (s) | cluster / local |",
        "|---|---:|---:|---:|",
    ]
    for i, step in enumerate(("lakehouse ingest run", "lakehouse build (everything: first build)")):
        lines.append(f"| {step} | {times['local'][i]:.1f} | {times['cluster'][i]:.1f} | "
                     f"**{times['cluster'][i] / times['local'][i]:.2f}** |")  # fmt: skip
    return "\n".join(lines) + "\n"


WARM_UP_BUILDS = 5


def _warm_up(env: dict) -> list[float]:
    """`dbt build`s on the new engine before it is measured, as a long-lived engine is warm. Its JVM compiles the
    code a build runs over several builds: on 2 cores the same build took 100, 62, 62, 53, 44, 44, 45, 47 and 43 s
    on a new engine, then no faster (BENCHMARKS.md, 2026-12-07)."""
    return [_run(env, "dbt", "build") for _ in range(WARM_UP_BUILDS)]


def warm_vs_cold(scale: float, repeat: int) -> str:

    env = _home(scale)
    _run(env, "ingest", "run")
    _run(env, "build")
    cold = {name: [_run(env, *command) for _ in range(repeat)] for name, command in COMMANDS.items()}
    start = _run(env, "engine", "start", "--port", "15099")
    try:
        warmup = _warm_up(env)
        warm = {name: [_run(env, *command) for _ in range(repeat)] for name, command in COMMANDS.items()}
    finally:
        _run(env, "engine", "stop")

    lines = [
        f"### Engine: warm vs cold ({time.strftime('%Y-%m-%d')}, scale {scale}, one day, {repeat} runs each)",
        "",
        "Each command a separate process. Cold: the process starts its own Spark (in-process default). Warm: it",
        f"connects to a running `lakehouse engine` (started in {start:.1f} s), warmed by {len(warmup)} `dbt build`s",
        f"({', '.join(f'{seconds:.0f}' for seconds in warmup)} s: its JIT compiles while they get faster).",
        "Median s.",
        "",
        "| command | cold (s) | warm (s) | warm / cold |",
        "|---|---:|---:|---:|",
    ]
    for name in COMMANDS:
        c, w = statistics.median(cold[name]), statistics.median(warm[name])
        lines.append(f"| {name} | {c:.1f} | {w:.1f} | **{w / c:.2f}** |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
