"""The reachability check run before dbt connects to Databricks (runtime/workspace.py), against loopback: a port
where nothing listens, and one that accepts TCP but never answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from runtime.errors import SetupError
from runtime.workspace import check_reachable, host_and_port


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("adb-1.2.azuredatabricks.net", ("adb-1.2.azuredatabricks.net", 443)),
        ("https://adb-1.2.azuredatabricks.net/", ("adb-1.2.azuredatabricks.net", 443)),
        ("127.0.0.1:8443", ("127.0.0.1", 8443)),
    ],
)
def test_host_and_port(host, expected):
    assert host_and_port(host) == expected


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SilentServer:
    """Accepts TCP connections on loopback and never sends a byte, until stopped."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                self.accepted.append(self.listener.accept()[0])
            except TimeoutError:
                continue

    def __enter__(self) -> SilentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()
        self.listener.close()


def test_nothing_listening_fails_at_once():
    port = closed_port()
    started = time.monotonic()
    with pytest.raises(
        SetupError, match=rf"cannot reach the Databricks workspace at 127.0.0.1:{port}: connection refused"
    ):
        check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 5


def test_a_host_that_never_answers_fails_after_the_timeout():
    with SilentServer() as server:
        started = time.monotonic()
        with pytest.raises(SetupError, match=r"no answer within 1 s"):
            check_reachable(f"127.0.0.1:{server.port}", timeout=1)
        assert 0.9 < time.monotonic() - started < 5
        assert server.accepted  # TCP was accepted: it is the TLS handshake that got no answer


def _dbt_debug(host: str) -> tuple[subprocess.CompletedProcess, float]:
    """`lakehouse dbt debug --target databricks` as a user runs it, with a wrong host."""
    env = {
        **os.environ,
        "DATABRICKS_HOST": host,
        "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/0123456789abcdef",
        "DBT_ENV_SECRET_DATABRICKS_TOKEN": "dapi-not-a-real-token",
        "LAKEHOUSE_DEVELOPER": "alice",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "dbt", "debug", "--target", "databricks"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, time.monotonic() - started


@pytest.mark.integration
def test_dbt_debug_with_nothing_listening_fails_within_a_minute_with_one_line():
    port = closed_port()
    done, took = _dbt_debug(f"127.0.0.1:{port}")
    assert done.returncode != 0 and took < 60
    assert done.stderr.strip().splitlines() == [
        f"error: cannot reach the Databricks workspace at 127.0.0.1:{port}: connection refused (check DATABRICKS_HOST)"
    ]


@pytest.mark.integration
def test_dbt_debug_with_a_host_that_never_answers_fails_within_a_minute_with_one_line():
    with SilentServer() as server:
        done, took = _dbt_debug(f"127.0.0.1:{server.port}")
    assert done.returncode != 0 and took < 60
    assert done.stderr.strip().splitlines() == [
        f"error: cannot reach the Databricks workspace at 127.0.0.1:{server.port}: no answer within 10 s"
        " (check DATABRICKS_HOST)"
    ]
