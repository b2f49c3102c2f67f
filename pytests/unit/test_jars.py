import hashlib
import http.server
import threading

import pytest

from runtime.errors import SetupError
from runtime.jars import Jar, ensure_jars, locked_jars


def test_lock_pins_delta_for_the_bundled_spark_and_s3a_for_its_hadoop():
    delta = {jar.artifact: jar.version for jar in locked_jars({"delta"})}
    s3 = {jar.artifact: jar.version for jar in locked_jars({"s3"})}
    assert delta["delta-spark_4.2_2.13"] == "4.4.0"
    assert s3["hadoop-aws"] == "3.5.0"
    assert "bundle" not in s3  # the 690 MB AWS SDK bundle is replaced by its modules
    assert all(len(jar.sha256) == 64 and jar.size > 0 for jar in locked_jars({"delta", "s3"}))


def test_jar_path_follows_maven_layout():
    jar = Jar("delta", "io.delta", "delta-storage", "4.4.0", 1, "0" * 64)
    assert jar.path_in_repository == "io/delta/delta-storage/4.4.0/delta-storage-4.4.0.jar"


class _Repository(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def repository(tmp_path, monkeypatch):
    """A Maven-layout repository on loopback serving one tiny jar, and a lock that pins it."""
    root = tmp_path / "repo"
    content = b"not really a jar"
    jar = Jar("t", "org.example", "tiny", "1.0", len(content), hashlib.sha256(content).hexdigest())
    (root / "org/example/tiny/1.0").mkdir(parents=True)
    (root / jar.path_in_repository).write_bytes(content)
    lock = tmp_path / "jars.lock"
    lock.write_text(f"# header\nt\torg.example:tiny:1.0\t{jar.size}\t{jar.sha256}\n")
    monkeypatch.setattr("runtime.jars.LOCK", lock)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Repository(*a, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LAKEHOUSE_MAVEN_REPOSITORY", f"http://127.0.0.1:{server.server_port}")
    yield root, jar
    server.shutdown()
    server.server_close()


def test_fetches_once_then_reuses_the_cache(repository, tmp_path):
    root, jar = repository
    cache = tmp_path / "cache"
    [path] = ensure_jars({"t"}, cache)
    assert path.read_bytes() == b"not really a jar"
    (root / jar.path_in_repository).unlink()  # the repository is gone: the cache must suffice
    assert ensure_jars({"t"}, cache) == [path]


def test_corrupt_cache_is_refetched(repository, tmp_path):
    cache = tmp_path / "cache"
    [path] = ensure_jars({"t"}, cache)
    path.write_bytes(b"corrupted!!!!!!!")
    [path] = ensure_jars({"t"}, cache)
    assert path.read_bytes() == b"not really a jar"


def test_tampered_download_is_refused(repository, tmp_path):
    root, jar = repository
    (root / jar.path_in_repository).write_bytes(b"evil bytes here!")
    with pytest.raises(SetupError, match="does not match the size/sha256"):
        ensure_jars({"t"}, tmp_path / "cache")
    assert not list((tmp_path / "cache").iterdir())


def test_no_network_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_MAVEN_REPOSITORY", "http://127.0.0.1:9")  # nothing listens on discard
    with pytest.raises(SetupError, match="first run needs network access to Maven Central"):
        ensure_jars({"delta"}, tmp_path / "empty-cache")
