"""Which of the files under a source's location a run should ingest (listing itself is in storage.py).

Planning is pure: it compares the listing with what the transfer log has already seen. A file's identity is its
URI, size and modification time.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, order=True)
class FileInfo:
    modified_at: datetime  # first, so sorting processes the oldest files first
    uri: str  # as Spark reports it in _metadata.file_path (URL-encoded): the key in bronze and the log
    size: int
    path: str  # the location, not encoded (file:/x y.json, s3a://bucket/key): what the reader is given

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


def plan_files(
    listing: list[FileInfo], seen: dict[str, dict[tuple[int, datetime], str]], allow_overwrites: bool
) -> Plan:
    """Split a listing into files to ingest, rewrites to ingest, and rewrites to report only.

    `seen` maps a file URI to the versions (size, modified_at) the transfer log holds for it, each with its most
    final status. A version that committed, or whose rewrite was already reported, is done. A version that
    failed is tried again on every run until it commits (or is replaced or removed), so a failure is never
    silently settled. A new version of a file that committed before is a rewrite.
    """
    new, rewritten, ignored = [], [], []
    for file in listing:
        versions = seen.get(file.uri, {})
        if versions.get((file.size, file.modified_at)) in ("committed", "rewrite_ignored"):
            continue
        earlier = any(status == "committed" for version, status in versions.items())
        if not earlier:
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
