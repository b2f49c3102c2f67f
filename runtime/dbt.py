"""Run dbt in this process, on the Spark session runtime/spark.py starts.

dbt-spark's `session` method takes whatever `SparkSession.builder.getOrCreate()` returns, so starting
the session here first is what gives dbt the project's Delta, metastore and S3A settings. For the
databricks target no Spark starts; the required environment variables are checked up front.
"""

from __future__ import annotations

import os

from runtime.errors import SetupError
from runtime.project import PROJECT_ROOT
from runtime.spark import SparkSettings, get_spark

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


def run_dbt(args: list[str], spark_settings: SparkSettings | None = None):
    """Invoke dbt with `args` (e.g. ["build", "--select", "staging"]); return dbt's result object.

    Needs `spark_settings` for the local target unless a session is already running.
    """
    from dbt.cli.main import dbtRunner

    dbt_environment()
    target = _target(args)
    needs_spark = args[:1] not in (["parse"], ["ls"], ["list"], ["clean"], ["deps"], ["debug"])
    if target == "local" and needs_spark and spark_settings is not None:
        get_spark(spark_settings)
    if target == "databricks":
        missing = [name for name in DATABRICKS_ENV if not os.environ.get(name)]
        if missing:
            raise SetupError(f"the databricks target needs these environment variables: {', '.join(missing)}")
    return dbtRunner().invoke(args)
