"""Which files exist under a source's location, and which of them a run should ingest.

Listing goes through Hadoop's FileSystem (the same code Spark reads with), so local folders, s3a:// and
Databricks volumes behave alike. Planning is pure: it compares the listing with what the transfer log has
already seen. A file's identity is its URI, size and modification time.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True, order=True)
class FileInfo:
    modified_at: datetime  # first, so sorting processes the oldest files first
    uri: str  # as Spark reports it in _metadata.file_path (URL-encoded): the key in bronze and the log
    size: int
    path: str  # as Hadoop lists it (not encoded): what the reader is given

    @property
    def identity(self) -> tuple[str, int, datetime]:
        return (self.uri, self.size, self.modified_at)


@dataclass(frozen=True)
class Plan:
    new: list[FileInfo]  # never seen
    rewritten: list[FileInfo]  # seen with another size/mtime, and the source allows overwrites
    ignored_rewrites: list[FileInfo]  # seen with another size/mtime; the source does not allow overwrites

    @property
    def to_ingest(self) -> list[FileInfo]:
        return sorted(self.new + self.rewritten)


def _hidden(relative: str) -> bool:
    """Hadoop/Spark convention: names starting with _ or . (markers, checksums, manifests) are not data."""
    return any(part.startswith(("_", ".")) for part in relative.split("/"))


def list_files(spark, uri: str) -> list[FileInfo]:
    """Every data file under `uri` (recursively), oldest first. A missing folder is an empty source."""
    jvm = spark._jvm
    root = jvm.org.apache.hadoop.fs.Path(uri)
    fs = root.getFileSystem(spark._jsc.hadoopConfiguration())
    if not fs.exists(root):
        return []
    root = fs.makeQualified(root)  # file:///x and file:/x list alike, and match Spark's own file paths
    root_text = root.toString().rstrip("/")
    spark_path = jvm.org.apache.spark.paths.SparkPath
    files = []
    iterator = fs.listFiles(root, True)
    while iterator.hasNext():
        status = iterator.next()
        path = status.getPath()
        text = path.toString()
        if _hidden(text[len(root_text) :].lstrip("/")):
            continue
        modified = datetime.fromtimestamp(status.getModificationTime() / 1000, tz=timezone.utc)
        files.append(
            FileInfo(modified, _as_spark_reports(spark_path.fromPath(path).urlEncoded()), status.getLen(), text)
        )
    return sorted(files)


def _as_spark_reports(uri: str) -> str:
    """Spark's _metadata.file_path writes local files as file:/x, where java.net.URI gives file:///x."""
    return "file:/" + uri[len("file:///") :] if uri.startswith("file:///") else uri


def plan_files(
    listing: list[FileInfo], seen: dict[str, dict[tuple[int, datetime], str]], allow_overwrites: bool
) -> Plan:
    """Split a listing into new files, rewrites to ingest, and rewrites to report only.

    `seen` maps a file URI to the identities (size, modified_at) the transfer log holds for it, each with its
    latest status. A version that only ever failed does not make its replacement a "rewrite": a fixed file
    re-uploaded after a failure is simply new.
    """
    new, rewritten, ignored = [], [], []
    for file in listing:
        versions = seen.get(file.uri, {})
        if (file.size, file.modified_at) in versions:
            continue
        if not any(status != "failed" for status in versions.values()):
            new.append(file)
        else:
            (rewritten if allow_overwrites else ignored).append(file)
    return Plan(new, rewritten, ignored)


def batches(files: list[FileInfo], max_files: int) -> list[list[FileInfo]]:
    ordered = sorted(files)
    return [ordered[i : i + max_files] for i in range(0, len(ordered), max_files)]


def select_files(
    files: list[FileInfo],
    *,
    names: list[str] | None = None,
    glob: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[FileInfo]:
    """Files matching every given criterion: explicit URIs/paths, a glob on the path, a modification-time range."""
    chosen = []
    wanted = set(names or [])
    for file in files:
        if wanted and file.uri not in wanted and file.path not in wanted and not _endswith_any(file.path, wanted):
            continue
        if glob and not fnmatch.fnmatch(file.path, glob) and not fnmatch.fnmatch(file.path, f"*/{glob}"):
            continue
        if since and file.modified_at < since:
            continue
        if until and file.modified_at >= until:
            continue
        chosen.append(file)
    return chosen


def _endswith_any(path: str, names: set[str]) -> bool:
    return any(path.endswith("/" + name.lstrip("/")) for name in names)


def escape_glob(path: str) -> str:
    """Spark treats reader paths as globs; escape a literal file name's glob characters."""
    return re.sub(r"([\[\]*?{}\\])", r"\\\1", path)
