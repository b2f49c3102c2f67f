"""Ingestion through Databricks Auto Loader (ingestion/autoloader.py): the bundle job's `ingest_autoloader` task,
run when its `ingestion` variable is `autoloader` (databricks.yml). Every source of lakehouse.yml, or those named,
each into its bronze table: everything available, then stop. On a Databricks cluster only (cloudFiles)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autoloader_job", description=__doc__)
    parser.add_argument(
        "--checkpoints",
        required=True,
        help="a folder for each source's checkpoint and schema location, e.g. /Volumes/<catalog>/<schema>/checkpoints",
    )
    parser.add_argument("--source", action="append", help="a source of lakehouse.yml (repeatable; default all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pyspark.sql import SparkSession

    from ingestion.autoloader import run_autoloader
    from runtime.project import load_config, schema

    spark = SparkSession.builder.getOrCreate()
    bronze = schema("bronze")
    spark.sql(f"create schema if not exists {bronze}")
    for source in load_config().select(args.source):
        run_autoloader(spark, source, f"{bronze}.{source.table}", f"{args.checkpoints.rstrip('/')}/{source.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
