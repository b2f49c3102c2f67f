"""The landing zone as files: listing, reading the first bytes of a file, writing one. Local folders, S3 (and
S3-compatible servers) and Databricks volumes, through pyarrow's filesystems, so nothing here needs the JVM and
the same code runs beside a classic or a Spark Connect session.

Locations are URIs as Spark reads them (`file:/...`, `s3a://bucket/key`, `/Volumes/...`). A file's key in bronze
and in the transfer log is the URI *Spark reports* in `_metadata.file_path` (Hadoop's URL-encoded form);
`spark_uri` reproduces that encoding, and the ingestion checks the two agree on every batch.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote

import pyarrow.fs as pafs

from ingestion.discovery import FileInfo
from ingestion.errors import IngestionError

# java.net.URI keeps these ASCII characters of a path as they are; every other ASCII character is %-encoded.
_URI_PATH_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'():@&=+$,;/")
HEAD_BYTES = 64 * 1024
_S3_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Listing:
    files: list[FileInfo]  # data files, oldest first
    hidden: list[str]  # paths skipped by the hidden-file rule (a name starting with _ or .)


def _encode(path: str) -> str:
    """A path as java.net.URI (and so Hadoop's Path and Spark's file metadata) renders it: unsafe ASCII and
    space or control characters %-encoded as UTF-8, other non-ASCII characters kept."""
    out = []
    for char in path:
        if char in _URI_PATH_SAFE or (ord(char) > 0x7F and char.isprintable() and not char.isspace()):
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
    return "".join(out)


def _hidden(relative: str) -> bool:
    """Hadoop/Spark convention: names starting with _ or . (markers, checksums, in-progress uploads) are not data."""
    return any(part.startswith(("_", ".")) for part in relative.split("/"))


class Storage:
    """Files under the landing zone. `s3_endpoint` / `s3_region` reach an S3-compatible server; credentials come
    from the AWS default chain (environment, profile, instance role), never from here."""

    def __init__(self, s3_endpoint: str | None = None, s3_region: str = "us-east-1"):
        self.s3_endpoint = s3_endpoint
        self.s3_region = s3_region
        self._s3: pafs.S3FileSystem | None = None
        self._lock = threading.Lock()

    # --- locations ----------------------------------------------------------------------------------------

    def _resolve(self, uri: str) -> tuple[pafs.FileSystem, str, str]:
        """(filesystem, its path for `uri`, the URI prefix that path is relative to)."""
        if uri.startswith(("s3a://", "s3://")):
            rest = uri.split("://", 1)[1]
            return self._s3_filesystem(), rest.rstrip("/"), "s3a://"
        if uri.startswith("file:"):
            path = "/" + unquote(uri.removeprefix("file:")).lstrip("/")
            return pafs.LocalFileSystem(), path.rstrip("/") or "/", "file:"
        if uri.startswith("/"):  # a Databricks volume or a plain absolute path
            return pafs.LocalFileSystem(), uri.rstrip("/"), ""
        raise IngestionError(f"unsupported location {uri!r}: use a local path, file:, s3:// or s3a://")

    def _s3_filesystem(self) -> pafs.S3FileSystem:
        with self._lock:
            if self._s3 is None:
                options = {
                    "region": self.s3_region,
                    "connect_timeout": _S3_TIMEOUT_SECONDS,
                    "request_timeout": _S3_TIMEOUT_SECONDS,
                    "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=3),
                }
                if self.s3_endpoint:
                    scheme, _, host = self.s3_endpoint.partition("://")
                    options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
                self._s3 = pafs.S3FileSystem(**options)
            return self._s3

    @staticmethod
    def spark_uri(prefix: str, path: str) -> str:
        """The URI Spark reports in _metadata.file_path for the file at `path` (see the module docstring)."""
        if prefix == "file:":
            return "file:" + _encode(path)
        return prefix + _encode(path)

    # --- reading --------------------------------------------------------------------------------------------

    def list_files(self, uri: str) -> Listing:
        """Every data file under `uri` (recursively), oldest first. A missing folder is an empty source."""
        fs, root, prefix = self._resolve(uri)
        try:
            infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
        except OSError as exc:
            raise IngestionError(f"cannot list {uri}: {_one_line(exc)}") from None
        files, hidden = [], []
        for info in infos:
            if info.type != pafs.FileType.File:
                continue
            relative = info.path[len(root) :].lstrip("/")
            if _hidden(relative):
                hidden.append(info.path)
                continue
            # Millisecond precision, as Spark reports file_modification_time.
            millis = info.mtime_ns // 1_000_000 if info.mtime_ns is not None else 0
            modified = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
            files.append(FileInfo(modified, self.spark_uri(prefix, info.path), info.size, prefix + info.path))
        return Listing(sorted(files), sorted(hidden))

    def heads(self, files: Iterable[FileInfo], size: int = HEAD_BYTES) -> dict[str, bytes | OSError]:
        """The first `size` bytes of each file, keyed by URI, read in parallel (S3 latency); an unreadable file
        maps to its error. Compressed files are not decompressed here (see `decompressed_head`)."""
        files = list(files)

        def read(file: FileInfo) -> bytes | OSError:
            fs, path, _ = self._resolve(file.path)
            try:
                with fs.open_input_stream(path, compression=None) as stream:
                    return stream.read(size)
            except OSError as exc:
                return exc

        if len(files) <= 1:
            return {file.uri: read(file) for file in files}
        with ThreadPoolExecutor(max_workers=min(16, len(files))) as pool:
            return dict(zip([file.uri for file in files], pool.map(read, files), strict=True))

    def write(self, uri: str, data: bytes) -> None:
        """Create the file at `uri` whole: S3 uploads are atomic; local files are written aside, then renamed."""
        fs, path, _ = self._resolve(uri)
        parent, _, name = path.rpartition("/")
        fs.create_dir(parent, recursive=True)
        staging = path if isinstance(fs, pafs.S3FileSystem) else f"{parent}/.{name}.tmp"
        with fs.open_output_stream(staging, compression=None) as out:
            out.write(data)
        if staging != path:
            fs.move(staging, path)

    def names(self, uri: str) -> list[str]:
        """Base names of the files directly under `uri` ([] when it does not exist)."""
        fs, root, _ = self._resolve(uri)
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=False, allow_not_found=True))
        return sorted(info.base_name for info in infos if info.type == pafs.FileType.File)


def decompressed_head(head: bytes, size: int = HEAD_BYTES) -> bytes:
    """The start of a gzip member's content (as far as `head` holds it), or `head` itself when not gzip."""
    if not head.startswith(b"\x1f\x8b"):
        return head
    decompressor = gzip.zlib.decompressobj(16 + gzip.zlib.MAX_WBITS)
    try:
        return decompressor.decompress(head, size)
    except gzip.zlib.error:
        return b""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
