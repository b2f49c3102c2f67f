"""The engine: one long-lived Spark Connect server that every `lakehouse` command and dbt connect to.

Without it each command starts Spark in its own process, and the embedded metastore admits one process at a
time. With it (`lakehouse engine start`), the server owns the metastore and the warehouse under LAKEHOUSE_HOME,
so ingestion and a dbt build can run at the same time and each dbt invocation starts warm. The server runs
Spark on this machine (`local[N]`) or as the driver of a Spark standalone cluster (`--master spark://...`);
`LAKEHOUSE_ENGINE=sc://host:port` points every command at a Connect server started elsewhere instead.

The server is `spark-submit --class SparkConnectServer` from the pyspark wheel, with the same settings as the
in-process session (runtime/spark.py). It listens on 127.0.0.1 unless told otherwise; its state is
`<LAKEHOUSE_HOME>/engine.json` (url, pid, master) and its log `<LAKEHOUSE_HOME>/logs/engine.log`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from runtime.errors import SetupError
from runtime.jars import ensure_jars
from runtime.spark import SparkSettings, check_java, lock_file, log_dir, spark_conf, with_class_archive

CONNECT_SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"
DEFAULT_PORT = 15002  # Spark Connect's own default
START_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class Engine:
    url: str  # sc://host:port
    pid: int | None  # None: a server this project did not start (LAKEHOUSE_ENGINE)
    master: str
    log: str | None


def _engine_file(state: Path) -> Path:
    return state / "engine.json"


def _listening(url: str, timeout: float = 1.0) -> bool:
    host, port = url.removeprefix("sc://").split("/")[0].split(";")[0].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(state: Path) -> Engine | None:
    """The engine clients should use: LAKEHOUSE_ENGINE if set, else the one started for this LAKEHOUSE_HOME if it
    is still alive (a stale engine.json is removed)."""
    remote = os.environ.get("LAKEHOUSE_ENGINE")
    if remote:
        if not remote.startswith("sc://"):
            raise SetupError(f"LAKEHOUSE_ENGINE={remote!r} is not a Spark Connect URL (sc://host:port)")
        return Engine(remote, None, "remote", None)
    path = _engine_file(state)
    try:
        engine = Engine(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None
    if engine.pid is not None and not _alive(engine.pid):
        path.unlink(missing_ok=True)
        return None
    return engine


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def server_command(settings: SparkSettings, jars: list[Path], master: str, port: int, host: str) -> list[str]:
    """The spark-submit command line of the Connect server (pure, testable without a JVM)."""
    if settings.s3 is not None:
        # Keys never go on a command line: the server and its executors take them from the AWS default chain.
        settings = replace(settings, s3=replace(settings.s3, access_key=None, secret_key=None, session_token=None))
    conf = spark_conf(settings, jars)
    conf["spark.master"] = master
    conf["spark.app.name"] = "lakehouse-engine"
    conf["spark.connect.grpc.binding.address"] = host
    conf["spark.connect.grpc.binding.port"] = str(port)
    if not master.startswith("local"):
        # Executors elsewhere: they bind to their own host, reach the driver at its address, and share no disk,
        # so the jars travel with the application (spark.jars) and logs stay on each worker.
        conf["spark.executor.memory"] = os.environ.get("LAKEHOUSE_EXECUTOR_MEMORY", "1g")
    command = [str(_spark_home() / "bin" / "spark-submit"), "--class", CONNECT_SERVER]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return command


def start(settings: SparkSettings, master: str | None = None, port: int = DEFAULT_PORT, host: str = "127.0.0.1"):
    """Start the engine for settings.state and wait until it answers. Returns the Engine."""
    state = settings.state
    found = running(state)
    if found is not None:
        raise SetupError(f"an engine is already running at {found.url} (`lakehouse engine stop` first)")
    check_java()
    features = {"delta", "s3"} if settings.s3 is not None else {"delta"}
    jars = ensure_jars(features, settings.jars_dir)
    settings = with_class_archive(settings)
    master = master or f"local[{settings.cores}]"
    # The server holds the state folder's lock for its whole life (the lock file's descriptor is inherited), so
    # no in-process command can open the same metastore beside it.
    lock = lock_file(state, wait=False, holder=f"the engine ({master})")
    log_path = log_dir(state) / "engine.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(_spark_home()), "SPARK_LOCAL_IP": host}
    env.pop("SPARK_REMOTE", None)
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            server_command(settings, jars, master, port, host),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=state,
            pass_fds=[lock.fileno()],
            start_new_session=True,  # its own process group: stop() ends the server and everything it started
        )
    lock.close()  # the server keeps its inherited copy of the lock
    engine = Engine(f"sc://{host}:{port}", process.pid, master, str(log_path))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _listening(engine.url):
        if process.poll() is not None:
            raise SetupError(f"the engine exited while starting (code {process.returncode}); see {log_path}")
        if time.monotonic() > deadline:
            _terminate(process.pid)
            raise SetupError(f"the engine did not answer at {engine.url} in {START_TIMEOUT_SECONDS} s; see {log_path}")
        time.sleep(0.5)
    _engine_file(state).write_text(json.dumps(asdict(engine)))
    return engine


def _terminate(pid: int, grace_seconds: float = 30) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _alive(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def stop(state: Path) -> Engine | None:
    """Stop the engine started for this LAKEHOUSE_HOME (its metastore closes cleanly on SIGTERM)."""
    engine = running(state)
    if engine is None or engine.pid is None:
        return None
    _terminate(engine.pid)
    _engine_file(state).unlink(missing_ok=True)
    return engine


def status(state: Path) -> tuple[Engine | None, bool]:
    """The engine clients would use, and whether it answers."""
    engine = running(state)
    return engine, engine is not None and _listening(engine.url)
