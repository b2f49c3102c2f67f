"""Shared fixtures. The whole suite runs in the `test` environment against a throwaway state folder, so it
never touches a developer's dev data, and one Spark session (with its single-process Derby metastore)
serves every in-process test (integration/conftest.py)."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Before anything imports ingestion: environment and state for the whole session.
_STATE = Path(tempfile.mkdtemp(prefix="lakehouse-test-"))
os.environ["LAKEHOUSE_HOME"] = str(_STATE)
os.environ["LAKEHOUSE_ENV"] = "test"
os.environ["DBT_TARGET_PATH"] = str(_STATE / "dbt-target")
os.environ["DBT_LOG_PATH"] = str(_STATE / "dbt-logs")
for name in ("LAKEHOUSE_TARGET", "LAKEHOUSE_CONFIG", "LAKEHOUSE_LANDING_URI", "LAKEHOUSE_S3_ENDPOINT"):
    os.environ.pop(name, None)


def pytest_sessionfinish(session, exitstatus):
    """The state folder goes with a passing run (Spark has stopped by now); a failing run keeps it to look into."""
    if exitstatus == 0:
        shutil.rmtree(_STATE, ignore_errors=True)
    else:
        print(f"\nthe test state (metastore, warehouse, logs) is kept in {_STATE}")


@pytest.fixture(scope="session")
def state_dir() -> Path:
    return _STATE


_names = itertools.count(1)


@pytest.fixture
def unique():
    """A fresh prefix for source and table names: tests share one metastore and must not collide."""
    return f"t{next(_names)}"
