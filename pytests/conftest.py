"""Shared fixtures. The whole suite runs in the `test` environment against a throwaway state folder, so it
never touches a developer's dev data, and one Spark session (with its single-process Derby metastore)
serves every in-process test."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Before anything imports ingestion: environment and state for the whole session.
_STATE = Path(tempfile.mkdtemp(prefix="lakehouse-test-"))
os.environ["LAKEHOUSE_HOME"] = str(_STATE)
os.environ["LAKEHOUSE_ENV"] = "test"
os.environ["DBT_TARGET_PATH"] = str(_STATE / "dbt-target")
os.environ["DBT_LOG_PATH"] = str(_STATE / "dbt-logs")
os.environ.pop("LAKEHOUSE_TARGET", None)


@pytest.fixture(scope="session")
def state_dir() -> Path:
    return _STATE


@pytest.fixture(scope="session")
def spark_settings(state_dir):
    from ingestion.spark import SparkSettings

    return SparkSettings(state=state_dir)


@pytest.fixture(scope="session")
def spark(spark_settings):
    from ingestion.spark import get_spark

    session = get_spark(spark_settings)
    yield session
    session.stop()
