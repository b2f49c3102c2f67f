"""Writing into the landing zone through Hadoop's FileSystem, so sample data can go wherever Spark reads
(a local folder or S3 with the same S3A settings ingestion uses)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date


def hadoop_writer(spark, landing_uri: str) -> Callable[[str, bytes], None]:
    """A generator writer: each file is created whole (S3 uploads are atomic; local files are renamed in)."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()

    def write(relative_path: str, data: bytes) -> None:
        target = jvm.org.apache.hadoop.fs.Path(landing_uri.rstrip("/") + "/" + relative_path)
        fs = target.getFileSystem(conf)
        staging = (
            target
            if landing_uri.startswith("s3")
            else jvm.org.apache.hadoop.fs.Path(target.getParent(), f".{target.getName()}.tmp")
        )
        stream = fs.create(staging, True)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()
        if staging != target:
            fs.delete(target, False)
            fs.rename(staging, target)

    return write


def generated_days(spark, landing_uri: str) -> list[int]:
    """Simulated days already in the landing zone, from the generator's manifests (_manifest/day=...json)."""
    from generator.clock import DAY0

    root = spark._jvm.org.apache.hadoop.fs.Path(landing_uri.rstrip("/") + "/_manifest")
    fs = root.getFileSystem(spark._jsc.hadoopConfiguration())
    if not fs.exists(root):
        return []
    days = []
    for status in fs.listStatus(root):
        match = re.match(r"day=(\d{4}-\d{2}-\d{2})\.json$", status.getPath().getName())
        if match:
            days.append((date.fromisoformat(match.group(1)) - DAY0).days)
    return sorted(days)
