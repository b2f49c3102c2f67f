"""What was written, with exact counts: one manifest per batch, written after the batch's files.

    _manifest/day=YYYY-MM-DD.json                with one batch a day (`batches_per_day=1`)
    _manifest/day=YYYY-MM-DD/hours=07-08.json    with sub-day batches: the UTC hours the batch's arrivals span

Downstream tests reconcile bronze row counts (`records`), parse failures (`malformed`) and silver / quarantine counts
(`dirt`) against it. Counts of a batch are the sums over its files; `sources` sums them per source. A sub-day
manifest also names its batch (`batch`, `batches_per_day`, `arrivals_from`, `arrivals_until`), says whether it
carries a new device registry extract (`registry_extract`), and counts per file the records that happened before the
batch began (`events.from_earlier_batches`). `parse_manifest_name` reads a batch back from a manifest's path.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.batches import HOURS_PER_DAY, Batch
from generator.clock import day_label, day_of_label, iso
from generator.dirt import DirtRates
from generator.files import RenderedFile
from generator.sources import device_registry

MANIFEST_FOLDER = "_manifest"
_MANIFEST_NAME = re.compile(
    rf"(?:^|(?:^|/){MANIFEST_FOLDER}/)day=(\d{{4}}-\d{{2}}-\d{{2}})(?:\.json|/hours=(\d{{2}})-(\d{{2}})\.json)$"
)


def manifest_path(batch: Batch, folder: str = MANIFEST_FOLDER) -> str:
    """Where the manifest of `batch` is written, relative to the landing root (see the module docstring); another
    domain's generator passes its own `folder`."""
    if batch.whole_day:
        return f"{folder}/day={day_label(batch.day)}.json"
    first = batch.first_hour
    return f"{folder}/day={day_label(batch.day)}/hours={first:02d}-{first + batch.hours:02d}.json"


def parse_manifest_name(name: str) -> Batch | None:
    """The batch a manifest path names, or None if `name` is no manifest of the generator.

    `name` may be relative to the landing root or to `_manifest`, or a full path or URI:
    `_manifest/day=2026-01-05.json` is `Batch(day=0, index=0, per_day=1)`, the whole day;
    `.../_manifest/day=2026-01-05/hours=07-08.json` is `Batch(day=0, index=7, per_day=24)`.
    Batches of one `per_day` sort in arrival order.
    """
    match = _MANIFEST_NAME.search(name)
    if not match:
        return None
    day = day_of_label(match.group(1))
    if day is None:
        return None
    if match.group(2) is None:
        first, last = 0, HOURS_PER_DAY
    else:
        first, last = int(match.group(2)), int(match.group(3))
    hours = last - first
    if hours <= 0 or last > HOURS_PER_DAY or HOURS_PER_DAY % hours or first % hours:
        return None
    return Batch(day, first // hours, HOURS_PER_DAY // hours)


@dataclass(frozen=True)
class FileEntry:
    source: str
    path: str
    bytes: int
    """Size as written (compressed for .gz)."""
    records: int
    """Non-blank lines (JSON, after decompression) or data rows (CSV), malformed ones included."""
    malformed: int
    dirt: Mapping[str, int]
    events: Mapping[str, int]

    @classmethod
    def of(cls, file: RenderedFile) -> FileEntry:
        return cls(file.source, file.path, len(file.data), file.records, file.malformed, file.dirt, file.events)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "path": self.path,
            "bytes": self.bytes,
            "records": self.records,
            "malformed": self.malformed,
            "dirt": dict(self.dirt),
            "events": dict(self.events),
        }


@dataclass(frozen=True)
class BatchManifest:
    """The files of one batch (with one batch a day, of one day) and their counts."""

    batch: Batch
    seed: int
    scale: float
    rates: DirtRates
    files: tuple[FileEntry, ...]
    folder: str = MANIFEST_FOLDER
    """Where the manifest is written under the landing root: `_manifest` for the fitness domain."""

    @property
    def day(self) -> int:
        return self.batch.day

    @property
    def date(self) -> str:
        return day_label(self.day)

    @property
    def path(self) -> str:
        return manifest_path(self.batch, self.folder)

    @property
    def registry_extract(self) -> bool:
        """Whether the batch rewrote the device registry's full extract (once a day, with its last batch)."""
        return any(entry.source == device_registry.SOURCE for entry in self.files)

    def sources(self) -> dict[str, dict[str, Any]]:
        """Totals per source."""
        names = dict.fromkeys(entry.source for entry in self.files)
        return {name: totals(entry for entry in self.files if entry.source == name) for name in names}

    def totals(self) -> dict[str, Any]:
        return totals(self.files)

    def to_dict(self) -> dict[str, Any]:
        """The manifest's JSON; with one batch a day exactly the day manifest of before sub-day batches."""
        batch = self.batch
        naming: dict[str, Any] = {"day": self.date, "day_index": self.day}
        if not batch.whole_day:
            naming |= {
                "batch": batch.index,
                "batches_per_day": batch.per_day,
                "arrivals_from": iso(batch.start),
                "arrivals_until": iso(batch.end),
                "registry_extract": self.registry_extract,
            }
        return {
            **naming,
            "seed": self.seed,
            "scale": self.scale,
            "rates": self.rates.to_dict(sub_day=not batch.whole_day),
            "files": [entry.to_dict() for entry in self.files],
            "sources": self.sources(),
            "totals": self.totals(),
        }

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2) + "\n").encode()


DayManifest = BatchManifest
"""The name from before sub-day batches (a day's manifest is the manifest of its only batch)."""


@dataclass(frozen=True)
class Manifest:
    """Everything one `generate` call wrote, batch by batch in arrival order."""

    seed: int
    scale: float
    rates: DirtRates
    batches: tuple[BatchManifest, ...]

    @property
    def days(self) -> tuple[BatchManifest, ...]:
        """The same as `batches`: with one batch a day (the default), one manifest per day."""
        return self.batches

    def files(self, source: str | None = None) -> list[FileEntry]:
        """File entries of every batch, optionally of one source only."""
        return [entry for batch in self.batches for entry in batch.files if source in (None, entry.source)]

    def totals(self, source: str | None = None) -> dict[str, Any]:
        """Sums over every batch (and optionally one source)."""
        return totals(self.files(source))


def totals(entries: Iterable[FileEntry]) -> dict[str, Any]:
    """Files, bytes, records, malformed records, and dirt and events summed kind by kind."""
    entries = list(entries)
    dirt: Counter[str] = Counter()
    events: Counter[str] = Counter()
    for entry in entries:
        dirt.update(entry.dirt)
        events.update(entry.events)
    return {
        "files": len(entries),
        "bytes": sum(entry.bytes for entry in entries),
        "records": sum(entry.records for entry in entries),
        "malformed": sum(entry.malformed for entry in entries),
        "dirt": dict(dirt),
        "events": dict(events),
    }
