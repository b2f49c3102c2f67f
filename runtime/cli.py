"""The `lakehouse` command: set-up, ingestion, dbt on the shared Spark session, and the demo pipeline."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from rich.console import Console

from ingestion.errors import IngestionError
from runtime.errors import LakehouseError
from runtime.project import jar_cache_dir, schema, state_dir

console = Console(stderr=True, soft_wrap=True)


def _stdout() -> Console:
    """Tables go to stdout; piped to a file or CI log they get room instead of a terminal's 80 columns."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def _settings(wait: bool = False):
    """Spark settings for this checkout; S3A is configured when the landing zone or the warehouse is on S3."""
    from runtime.project import load_config, warehouse_uri
    from runtime.spark import S3Settings, SparkSettings, needs_s3

    landing = load_config().landing
    warehouse = warehouse_uri()
    s3 = None
    if needs_s3(landing.uri, warehouse or "") or landing.s3_endpoint:
        s3 = S3Settings(
            endpoint=landing.s3_endpoint,
            region=landing.s3_region,
            access_key=os.environ.get("AWS_ACCESS_KEY_ID"),
            secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
            session_token=os.environ.get("AWS_SESSION_TOKEN"),
        )
    return SparkSettings(state=state_dir(), s3=s3, wait_for_lock=wait, warehouse=warehouse)


class _StopFlag:
    """First SIGINT/SIGTERM: finish the current batch, then stop. A second SIGINT interrupts at once."""

    def __init__(self):
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def install(self) -> None:
        def handler(signum, frame):
            if self.requested and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.requested = True
            console.print("[yellow]stopping after the current batch (Ctrl-C again to interrupt now)[/]")

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


def _ingestor(args, progress=None, stop=None):
    from ingestion.ingest import Ingestor
    from runtime.project import load_config
    from runtime.spark import get_spark, ingestion_codegen

    config = load_config()
    spark = get_spark(_settings(wait=getattr(args, "wait", False)))
    kwargs = {"progress": progress} if progress else {}
    if stop:
        kwargs["should_stop"] = stop
    before_run = ingestion_codegen(spark)
    return config, Ingestor(spark, config, bronze_schema=schema("bronze"), before_run=before_run, **kwargs)


def _report(results) -> int:
    from runtime.report import notes, problems, summary_table
    from runtime.spark import log_dir

    out = _stdout()
    out.print(summary_table(results))
    for line in notes(results):
        out.print(line)
    lines = problems(results)
    for line in lines:
        console.print(f"[red]not ingested[/]: {line}")
    if lines or any(result.error for result in results):
        console.print(f"full errors in {log_dir(state_dir())}")
    return 0 if all(result.ok for result in results) else 1


def _ingest(ingestor, sources) -> list:
    """Plan every source, then ingest them together under one progress bar."""
    from runtime.report import ingest_progress

    plans = ingestor.plan_all(sources)
    totals = {
        name: (len(plan.plan.to_ingest), sum(f.size for f in plan.plan.to_ingest)) for name, plan in plans.items()
    }
    with ingest_progress(console, totals) as advance:
        ingestor.progress = advance
        return ingestor.run_all(sources, plans)


def cmd_ingest_run(args: argparse.Namespace) -> int:
    stop = _StopFlag()
    stop.install()
    config, ingestor = _ingestor(args, stop=stop)
    sources = config.select(args.source)
    if args.dry_run:
        return _print_plan(ingestor.plan_all(sources))
    return _report(_ingest(ingestor, sources))


def _print_plan(plans) -> int:
    from rich.table import Table

    table = Table(title="dry run: nothing is written", title_justify="left")
    for column in ("source", "new files", "rewritten (ingest)", "rewritten (ignored)", "MB", "hidden", "unlogged"):
        table.add_column(column)
    for name, found in plans.items():
        plan = found.plan
        table.add_row(
            name,
            str(len(plan.new)),
            str(len(plan.rewritten)),
            str(len(plan.ignored_rewrites)),
            f"{sum(f.size for f in plan.to_ingest) / 1024 / 1024:,.1f}",
            str(len(found.hidden)),
            ", ".join(str(commit.batch_id) for commit in found.unlogged) or "-",
        )
    out = _stdout()
    out.print(table)
    for name, found in plans.items():
        for file in found.plan.to_ingest:
            out.print(f"  {name}: {file.uri} ({file.size:,} bytes, modified {file.modified_at:%Y-%m-%d %H:%M:%S})")
    return 0


def cmd_ingest_stream(args: argparse.Namespace) -> int:
    stop = _StopFlag()
    stop.install()
    config, ingestor = _ingestor(args, stop=stop)
    sources = config.select(args.source)
    all_ok = True
    console.print(f"polling {', '.join(s.name for s in sources)} every {args.interval:g} s; Ctrl-C or SIGTERM stops")
    while not stop():
        results = ingestor.run_all(sources)
        if any(result.files or result.error for result in results):
            all_ok &= _report(results) == 0
        deadline = time.monotonic() + args.interval
        while not stop() and time.monotonic() < deadline:
            time.sleep(0.2)
    return 0 if all_ok else 1


def cmd_ingest_replay(args: argparse.Namespace) -> int:
    config, ingestor = _ingestor(args)
    [source] = config.select([args.source])
    result = ingestor.replay(
        source, names=args.file, glob=args.glob, since=_timestamp(args.since), until=_timestamp(args.until)
    )
    status = _report([result])
    if result.files and not result.error:
        # Incremental models merge the new batch's rows: rows the corrected files no longer hold stay downstream.
        console.print(
            f"silver and gold add and update the replayed rows; rows the files no longer hold leave them with "
            f"`lakehouse build --full-refresh --select source:{source.name}+`"
        )
    return status


def _timestamp(text: str | None):
    from datetime import datetime, timezone

    if text is None:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def cmd_setup(args: argparse.Namespace) -> int:
    """Check Java, fetch the pinned jars and write the JVM class archive, so later runs start offline and sooner."""
    from runtime.class_archive import ensure_archive
    from runtime.jars import ensure_jars
    from runtime.spark import check_java

    check_java()
    features = {"delta", "s3"} if args.s3 else {"delta"}
    jars = ensure_jars(features, jar_cache_dir())
    archive, why_not = ensure_archive(jar_cache_dir())
    if archive is None:
        console.print(f"[yellow]no JVM class archive[/] (every command starts a few seconds slower): {why_not}")
    console.print(f"[green]ready[/]: Java OK, {len(jars)} jars cached in {jar_cache_dir()}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from runtime.dbt import build_changed

    return 0 if build_changed(args.dbt_args, _settings()).success else 1


def cmd_dbt(args: argparse.Namespace) -> int:
    from runtime.dbt import run_dbt

    result = run_dbt(args.dbt_args, _settings())
    return 0 if result.success else 1


def cmd_engine(args: argparse.Namespace) -> int:
    """Start, stop or show the engine: one Spark Connect server every command and dbt share (runtime/engine.py)."""
    from runtime import engine

    if args.engine_command == "start":
        started = time.monotonic()
        found = engine.start(_settings(), master=args.master, port=args.port, host=args.host)
        console.print(
            f"[green]engine started[/] at {found.url} on {found.master} in {time.monotonic() - started:.0f} s "
            f"(pid {found.pid}, log {found.log}); every lakehouse command now uses it"
        )
        return 0
    if args.engine_command == "stop":
        stopped = engine.stop(state_dir())
        console.print(f"engine at {stopped.url} stopped" if stopped else "no engine was running")
        return 0
    found, answering = engine.status(state_dir())
    if found is None:
        _stdout().print("no engine: each command starts Spark in its own process")
        return 1
    state = "answering" if answering else "NOT answering"
    pid = f", pid {found.pid}" if found.pid else ""
    log = f"; log {found.log}" if found.log else ""
    _stdout().print(f"engine at {found.url} on {found.master}{pid}: {state}{log}")
    return 0 if answering else 1


def cmd_lint(args: argparse.Namespace) -> int:
    """sqlfluff with the dbt templater, on the project's Spark session (compiling incremental models queries it)."""
    from sqlfluff.cli.commands import cli as sqlfluff

    from runtime.dbt import dbt_environment
    from runtime.project import PROJECT_ROOT
    from runtime.spark import get_spark

    dbt_environment()
    get_spark(_settings())
    paths = [str(PROJECT_ROOT / folder) for folder in ("models", "snapshots", "tests", "analyses")]
    try:
        sqlfluff.main(args=["lint", *[p for p in paths if Path(p).exists()], *args.sqlfluff_args])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """A table's Delta history: each version, when and by which operation it was written, rows it wrote."""
    from runtime.spark import get_spark
    from runtime.time_travel import history_table

    _stdout().print(history_table(get_spark(_settings()), args.table, args.limit))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """A table's rows as of a Delta version or a timestamp (time travel), or now."""
    from runtime.spark import get_spark
    from runtime.time_travel import rows_table

    spark = get_spark(_settings())
    _stdout().print(rows_table(spark, args.table, version=args.version, timestamp=args.timestamp, limit=args.limit))
    return 0


def _domains(name: str) -> list:
    """The generator's domains `--domain` picks: one by name, or every one for `all`."""
    from generator import DOMAINS

    return list(DOMAINS.values()) if name == "all" else [DOMAINS[name]]


def _land(domain, landing_uri: str, storage, days: range, **options):
    """Write `days` of `domain`'s sample files to the landing zone; returns the generator's manifest."""
    return domain.generate(
        lambda path, data: storage.write(f"{landing_uri.rstrip('/')}/{path}", data), days=days, **options
    )


def cmd_generate(args: argparse.Namespace) -> int:
    """Write simulated days of a domain's raw data into the landing zone."""
    from ingestion.storage import Storage
    from runtime.project import load_config

    landing = load_config().landing
    days = range(args.start_day, args.start_day + args.days)
    options = {"seed": args.seed, "scale": args.scale}
    if args.batches_per_day != 1 or args.batch is not None:
        options["batches_per_day"] = args.batches_per_day
        if args.batch is not None:
            options["batches"] = range(args.batch, args.batch + 1)
    storage = Storage(landing.s3_endpoint, landing.s3_region)
    for domain in _domains(args.domain):
        if "batches_per_day" in options and not domain.sub_day_batches:
            raise LakehouseError(f"--batches-per-day/--batch: the {domain.name} domain lands whole days only")
    for domain in _domains(args.domain):
        manifest = _land(domain, landing.uri, storage, days, **options)
        total = sum(entry.bytes for entry in manifest.files())
        which = f"batch {args.batch} of " if args.batch is not None else ""
        console.print(
            f"wrote {domain.name}: {which}days {days.start}-{days.stop - 1} ({total / 1024 / 1024:,.1f} MB) "
            f"to {landing.uri}"
        )
    return 0


def _merged(earlier: list, final: list) -> list:
    """One result per source for several runs of it: the files of `earlier` runs before those of its `final` one."""
    import dataclasses

    merged = []
    for result in final:
        before = [run for run in earlier if run.source == result.source]
        merged.append(
            dataclasses.replace(
                result,
                files=[file for run in before for file in run.files] + result.files,
                seconds=sum(run.seconds for run in before) + result.seconds,
                error=next((run.error for run in before if run.error), None) or result.error,
            )
        )
    return merged


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the embedded default: land sample days of each domain, ingest them, build every dbt layer,
    summarize. The first run lands each domain's first days (`Domain.demo_days`), each later run the next day.
    A source whose files are full extracts rewritten in place (`allow_overwrites`) is ingested after every day,
    as a scheduler would, so that no version of it is lost; the rest is ingested once. Then one dbt build of
    what the new data touches."""
    from runtime.dbt import build_changed
    from runtime.report import layer_summary

    started = time.monotonic()
    config, ingestor = _ingestor(args)
    spark = ingestor.spark
    landing = config.landing.uri.rstrip("/")
    plans = {}
    for domain in _domains(args.domain):
        listing = ingestor.storage.list_files(f"{landing}/{domain.manifest_folder}")
        done = domain.landed_days(file.path for file in listing.files)
        plans[domain] = range(0, domain.demo_days) if not done else range(max(done) + 1, max(done) + 2)
    full_extracts = [source for source in config.sources.values() if source.allow_overwrites]
    earlier = []
    rounds = max(len(days) for days in plans.values())
    for index in range(rounds):
        for domain, days in plans.items():
            if index < len(days):
                _land(domain, config.landing.uri, ingestor.storage, range(days[index], days[index] + 1))
                console.print(f"[bold]landed[/] {domain.name} day {days[index]} in {config.landing.uri}")
        if index < rounds - 1 and full_extracts:
            earlier += ingestor.run_all(full_extracts)
    ingested_ok = _report(_merged(earlier, _ingest(ingestor, list(config.sources.values())))) == 0
    console.print(f"[bold]ingested[/] into bronze in {time.monotonic() - started:.0f} s")

    build = build_changed()
    console.print(f"[bold]dbt build[/] {'[green]passed[/]' if build.success else '[red]failed[/]'}")
    layer_summary(spark, _stdout())
    console.print(f"demo finished in {time.monotonic() - started:.0f} s")
    return 0 if build.success and ingested_ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    setup = sub.add_parser(
        "setup", help="check Java, fetch the pinned Spark jars, write the JVM class archive (idempotent)"
    )
    setup.add_argument("--s3", action="store_true", help="also fetch hadoop-aws and the AWS SDK")
    setup.set_defaults(func=cmd_setup)

    dbt = sub.add_parser("dbt", help="run dbt on the project's Spark session, e.g. `lakehouse dbt build`")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)

    build = sub.add_parser(
        "build", help="dbt build of what new data or changed code affects (everything the first time); dbt args pass"
    )
    build.add_argument("dbt_args", nargs=argparse.REMAINDER)
    build.set_defaults(func=cmd_build)

    lint = sub.add_parser("lint", help="sqlfluff lint of the dbt SQL (dbt templater, sparksql dialect)")
    lint.add_argument("sqlfluff_args", nargs=argparse.REMAINDER)
    lint.set_defaults(func=cmd_lint)

    history = sub.add_parser("history", help="a table's Delta versions, e.g. `lakehouse history silver.<model>`")
    history.add_argument("table", help="<layer>.<table>, e.g. bronze.<table>")
    history.add_argument("--limit", type=int, default=20, help="newest versions to list (default 20)")
    history.set_defaults(func=cmd_history)

    show = sub.add_parser("show", help="a table's rows as of a Delta version or a timestamp (time travel)")
    show.add_argument("table", help="<layer>.<table>, e.g. silver.<model>")
    when = show.add_mutually_exclusive_group()
    when.add_argument("--version", type=int, help="a version `lakehouse history` lists")
    when.add_argument("--timestamp", help="'YYYY-MM-DD[ HH:MM:SS[.ffffff]]' (UTC locally): the version then")
    show.add_argument("--limit", type=int, default=20, help="rows to show (default 20)")
    show.set_defaults(func=cmd_show)

    ingest = sub.add_parser("ingest", help="land raw files into bronze Delta tables")
    ingest_sub = ingest.add_subparsers(dest="ingest_command", required=True)
    for name, func, help_text in (
        ("run", cmd_ingest_run, "ingest every new file, then stop"),
        ("stream", cmd_ingest_stream, "keep polling for new files until SIGINT/SIGTERM"),
    ):
        command = ingest_sub.add_parser(name, help=help_text)
        command.add_argument("--source", action="append", help="only this source (repeatable); default: all")
        command.add_argument("--wait", action="store_true", help="queue behind another running process")
        command.set_defaults(func=func)
        if name == "run":
            command.add_argument("--dry-run", action="store_true", help="list what would be ingested; write nothing")
        else:
            command.add_argument("--interval", type=float, default=30.0, help="seconds between polls (default 30)")
    replay = ingest_sub.add_parser("replay", help="re-ingest chosen files, replacing their bronze rows")
    replay.add_argument("--source", required=True)
    replay.add_argument("--file", action="append", help="a file (URI, path or trailing part of it); repeatable")
    replay.add_argument("--glob", help="files whose path matches this glob, e.g. 'day=2026-01-0[5-6]/*'")
    replay.add_argument("--since", help="files modified at or after this ISO time")
    replay.add_argument("--until", help="files modified before this ISO time")
    replay.add_argument("--wait", action="store_true", help="queue behind another running process")
    replay.set_defaults(func=cmd_ingest_replay)

    from generator import DOMAINS

    domains = [*sorted(DOMAINS), "all"]
    generate = sub.add_parser("generate", help="write simulated days of a domain's raw data to the landing zone")
    generate.add_argument("--domain", choices=domains, default="all", help="which domain (default all)")
    generate.add_argument("--days", type=int, default=3, help="how many days (default 3)")
    generate.add_argument("--start-day", type=int, default=0, help="first simulated day (0 = 2026-01-05)")
    generate.add_argument("--scale", type=float, default=1.0, help="volume multiplier (24 x 7 days ~ 1 GB)")
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument(
        "--batches-per-day", type=int, default=1, help="land each day in this many batches (1-24, dividing 24)"
    )
    generate.add_argument("--batch", type=int, help="only this batch (0-based) of each day")
    generate.set_defaults(func=cmd_generate)

    engine = sub.add_parser("engine", help="a long-lived Spark Connect server every command and dbt share")
    engine_sub = engine.add_subparsers(dest="engine_command", required=True)
    start = engine_sub.add_parser("start", help="start it (local Spark, or the driver of a standalone cluster)")
    start.add_argument("--master", help="e.g. spark://host:7077 (default: local[all cores])")
    start.add_argument("--port", type=int, default=15002, help="Spark Connect port (default 15002)")
    start.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    engine_sub.add_parser("stop", help="stop the engine of this LAKEHOUSE_HOME")
    engine_sub.add_parser("status", help="which engine commands use, and whether it answers")
    engine.set_defaults(func=cmd_engine)

    demo = sub.add_parser("demo", help="the main job: sample data -> bronze -> silver -> gold")
    demo.add_argument("--domain", choices=domains, default="all", help="land sample data of this domain (default all)")
    demo.set_defaults(func=cmd_demo)
    return parser


# Commands whose arguments all go to the tool they wrap (argparse's REMAINDER alone drops a leading `--select`).
PASSTHROUGH = {"dbt": "dbt_args", "build": "dbt_args", "lint": "sqlfluff_args"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if argv and argv[0] in PASSTHROUGH and argv[1:] not in (["-h"], ["--help"]):
        args = parser.parse_args(argv[:1])
        setattr(args, PASSTHROUGH[argv[0]], list(argv[1:]))
        return args
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return args.func(args)
    except (LakehouseError, IngestionError) as exc:
        console.print(f"[red]error[/]: {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    except Exception as exc:  # unexpected (a Spark failure, a bug): one line here, the whole trace in the log
        import logging

        from runtime.spark import configure_logging

        log_file = configure_logging(state_dir())
        logging.getLogger("runtime").error("lakehouse %s failed", args.command, exc_info=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        console.print(f"[red]error[/]: {first[:500]} (full trace in {log_file})")
        return 1


if __name__ == "__main__":
    sys.exit(main())
