"""A rendered landing file with its exact counts, and the line-level helpers every source shares."""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from generator.batches import Batch
from generator.dirt import DirtRates, dirt_count

T = TypeVar("T")


@dataclass(frozen=True)
class RenderedFile:
    source: str
    path: str
    """Relative to the landing root: `<source>/day=YYYY-MM-DD/<file>` (the file name carrying the batch label on
    sub-day batches), or `device_registry/registry.csv`."""
    data: bytes
    records: int
    """Non-blank lines (JSON) or data rows (CSV), malformed ones included."""
    malformed: int
    dirt: Mapping[str, int] = field(default_factory=dict)
    """Anomalies the silver layer must clean or quarantine, by kind."""
    events: Mapping[str, int] = field(default_factory=dict)
    """Facts that are not dirt but help reconcile (registry changes, events by type, stops due next day; on sub-day
    batches `from_earlier_batches`, the records that happened before the batch began)."""


BatchRenderer = Callable[[Batch], list[RenderedFile]]
"""A source's files of one batch of a day whose records (and their arrivals) are already simulated."""


def text_file(lines: list[str], *, header: str | None = None, compress: bool = False) -> bytes:
    """Lines joined with newlines (and a trailing one), optionally behind a CSV header and gzip-compressed."""
    body = "\n".join(lines if header is None else [header, *lines]) + "\n"
    data = body.encode("utf-8")
    return gzip.compress(data, compresslevel=6, mtime=0) if compress else data


def truncated(line: str, rng: random.Random) -> str:
    """A proper prefix of a JSON object line: it never closes, so it never parses."""
    return line[: rng.randint(2, len(line) - 2)]


def wrong_field_count(row: str, rng: random.Random) -> str:
    """A CSV row missing its last field or carrying an extra one."""
    fields = row.split(",")
    return ",".join(fields[:-1]) if rng.random() < 0.5 else ",".join([*fields, fields[-1]])


def with_malformed(
    lines: list[str], rng: random.Random, rates: DirtRates, *, csv: bool = False
) -> tuple[list[str], int]:
    """`lines` plus damaged copies of some of them at random places; returns the new lines and how many were added."""
    count = dirt_count(rates.malformed, len(lines), rates.malformed_min)
    if not count:
        return lines, 0
    damage = wrong_field_count if csv else truncated
    damaged = [damage(rng.choice(lines), rng) for _ in range(count)]
    return scattered(lines, damaged, rng), count


def scattered(lines: list[T], extra: list[T], rng: random.Random) -> list[T]:
    """`lines` with `extra` inserted at random positions, keeping the order of `lines`."""
    positions = sorted(rng.randint(0, len(lines)) for _ in extra)
    result: list[T] = []
    previous = 0
    for position, line in zip(positions, extra, strict=True):
        result.extend(lines[previous:position])
        result.append(line)
        previous = position
    result.extend(lines[previous:])
    return result
