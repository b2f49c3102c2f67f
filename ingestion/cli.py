"""The `lakehouse` command: set-up, ingestion, dbt on the shared Spark session, and the demo pipeline."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console

from ingestion.errors import LakehouseError
from ingestion.project import jar_cache_dir, state_dir

console = Console(stderr=True, soft_wrap=True)


def _settings():
    from ingestion.spark import SparkSettings

    return SparkSettings(state=state_dir())


def cmd_setup(args: argparse.Namespace) -> int:
    """Check Java and fetch the pinned jars, so later runs start offline."""
    from ingestion.jars import ensure_jars
    from ingestion.spark import check_java

    check_java()
    features = {"delta", "s3"} if args.s3 else {"delta"}
    jars = ensure_jars(features, jar_cache_dir())
    console.print(f"[green]ready[/]: Java OK, {len(jars)} jars cached in {jar_cache_dir()}")
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    from ingestion.dbt import run_dbt

    result = run_dbt(args.dbt_args, _settings())
    return 0 if result.success else 1


def cmd_lint(args: argparse.Namespace) -> int:
    """sqlfluff with the dbt templater, on the project's Spark session (compiling incremental models queries it)."""
    from sqlfluff.cli.commands import cli as sqlfluff

    from ingestion.dbt import dbt_environment
    from ingestion.project import PROJECT_ROOT
    from ingestion.spark import get_spark

    dbt_environment()
    get_spark(_settings())
    paths = [str(PROJECT_ROOT / folder) for folder in ("models", "snapshots", "tests", "analyses")]
    try:
        sqlfluff.main(args=["lint", *[p for p in paths if Path(p).exists()], *args.sqlfluff_args])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ingestion.dbt import run_dbt
    from ingestion.project import schema
    from ingestion.spark import get_spark

    started = time.monotonic()
    spark = get_spark(_settings())
    bronze = schema("bronze")
    spark.sql(f"create database if not exists {bronze}")
    spark.range(100).selectExpr("id as event_id", "concat('event ', id) as payload").write.format("delta").mode(
        "overwrite"
    ).saveAsTable(f"{bronze}.smoke_events")
    result = run_dbt(["build"])
    console.print(f"demo finished in {time.monotonic() - started:.0f} s")
    return 0 if result.success else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    setup = sub.add_parser("setup", help="check Java and fetch the pinned Spark jars (idempotent)")
    setup.add_argument("--s3", action="store_true", help="also fetch hadoop-aws and the AWS SDK")
    setup.set_defaults(func=cmd_setup)

    dbt = sub.add_parser("dbt", help="run dbt on the project's Spark session, e.g. `lakehouse dbt build`")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)

    lint = sub.add_parser("lint", help="sqlfluff lint of the dbt SQL (dbt templater, sparksql dialect)")
    lint.add_argument("sqlfluff_args", nargs=argparse.REMAINDER)
    lint.set_defaults(func=cmd_lint)

    demo = sub.add_parser("demo", help="the main job: sample data -> bronze -> silver -> gold")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LakehouseError as exc:
        console.print(f"[red]error[/]: {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
