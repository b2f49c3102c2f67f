"""What was written, with exact counts: one manifest per day at `_manifest/day=YYYY-MM-DD.json`.

Downstream tests reconcile bronze row counts (`records`), parse failures (`malformed`) and silver / quarantine counts
(`dirt`) against it. Counts of a day are the sums over its files; `sources` sums them per source.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.clock import day_label
from generator.dirt import DirtRates
from generator.files import RenderedFile

MANIFEST_FOLDER = "_manifest"


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
class DayManifest:
    day: int
    seed: int
    scale: float
    rates: DirtRates
    files: tuple[FileEntry, ...]

    @property
    def date(self) -> str:
        return day_label(self.day)

    @property
    def path(self) -> str:
        return f"{MANIFEST_FOLDER}/day={self.date}.json"

    def sources(self) -> dict[str, dict[str, Any]]:
        """Totals per source."""
        names = dict.fromkeys(entry.source for entry in self.files)
        return {name: totals(entry for entry in self.files if entry.source == name) for name in names}

    def totals(self) -> dict[str, Any]:
        return totals(self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.date,
            "day_index": self.day,
            "seed": self.seed,
            "scale": self.scale,
            "rates": self.rates.to_dict(),
            "files": [entry.to_dict() for entry in self.files],
            "sources": self.sources(),
            "totals": self.totals(),
        }

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2) + "\n").encode()


@dataclass(frozen=True)
class Manifest:
    """Everything one `generate` call wrote, day by day."""

    seed: int
    scale: float
    rates: DirtRates
    days: tuple[DayManifest, ...]

    def files(self, source: str | None = None) -> list[FileEntry]:
        """File entries of every day, optionally of one source only."""
        return [entry for day in self.days for entry in day.files if source in (None, entry.source)]

    def totals(self, source: str | None = None) -> dict[str, Any]:
        """Sums over every day (and optionally one source)."""
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
