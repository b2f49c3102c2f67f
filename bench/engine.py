"""The engine's benchmark: the same `lakehouse` commands run cold (each process starts its own Spark) and warm
(every command connects to one running engine, `lakehouse engine start`), on the same data, in one run.

    .venv/bin/python bench/engine.py [--scale 0.5] [--repeat 3] [--output BENCHMARKS.md]

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
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="lakehouse-bench-engine-"))
    env = {**os.environ, "LAKEHOUSE_HOME": str(home), "LAKEHOUSE_ENV": "dev"}
    env.pop("LAKEHOUSE_ENGINE", None)
    _run(env, "generate", "--days", "1", "--scale", str(args.scale))
    _run(env, "ingest", "run")
    _run(env, "build")
    cold = {name: [_run(env, *command) for _ in range(args.repeat)] for name, command in COMMANDS.items()}
    start = _run(env, "engine", "start", "--port", "15099")
    try:
        _run(env, "dbt", "build")  # the engine's first build warms it, as a user's first command would
        warm = {name: [_run(env, *command) for _ in range(args.repeat)] for name, command in COMMANDS.items()}
    finally:
        _run(env, "engine", "stop")

    lines = [
        f"### Engine: warm vs cold ({time.strftime('%Y-%m-%d')}, scale {args.scale}, one day, {args.repeat} runs each)",
        "",
        "Each command a separate process. Cold: the process starts its own Spark (in-process default). Warm: it",
        f"connects to a running `lakehouse engine` (started in {start:.1f} s, warmed by one `dbt build`). Median s.",
        "",
        "| command | cold (s) | warm (s) | warm / cold |",
        "|---|---:|---:|---:|",
    ]
    for name in COMMANDS:
        c, w = statistics.median(cold[name]), statistics.median(warm[name])
        lines.append(f"| {name} | {c:.1f} | {w:.1f} | **{w / c:.2f}** |")
    section = "\n".join(lines) + "\n"
    if args.output:
        with args.output.open("a") as out:
            out.write("\n" + section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
