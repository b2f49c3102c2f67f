"""Batches: equal slices of a simulated UTC day, each holding the records that *arrive* during it.

Every record of a day has one arrival instant, fixed by the simulation whatever the batch size (see each source
module); `batches_per_day` only decides where the day's arrivals are cut. With one batch a day, the day's files are
exactly those of the generator before sub-day batches; with 24, batch k holds the arrivals from k:00 to k+1:00 UTC.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from generator.clock import SECONDS_PER_DAY, day_label, day_start
from generator.dirt import python_rng

HOURS_PER_DAY = 24
BATCHES_PER_DAY = tuple(n for n in range(1, HOURS_PER_DAY + 1) if HOURS_PER_DAY % n == 0)
"""Allowed batches per day: divisors of 24, so every batch starts on a whole hour (its label in file names)."""
FROM_EARLIER_BATCHES = "from_earlier_batches"
"""Count in the `events` of a sub-day file: its records whose own time (reading, event, login) is before the batch."""


@dataclass(frozen=True, order=True)
class Batch:
    """Batch `index` (0-based) of the `per_day` equal slices of simulated day `day`.

    Batches of one `per_day` sort in arrival order.
    """

    day: int
    index: int = 0
    per_day: int = 1

    def __post_init__(self) -> None:
        if self.per_day not in BATCHES_PER_DAY:
            raise ValueError(f"batches_per_day must divide 24 (one of {BATCHES_PER_DAY}), not {self.per_day!r}")
        if not 0 <= self.index < self.per_day:
            raise ValueError(f"batch {self.index!r} is not in 0..{self.per_day - 1}")
        if self.day < 0:
            raise ValueError(f"day must be >= 0, not {self.day!r}")

    @property
    def whole_day(self) -> bool:
        """One batch a day: file names, random streams and manifests are those of the day."""
        return self.per_day == 1

    @property
    def is_last(self) -> bool:
        return self.index == self.per_day - 1

    @property
    def hours(self) -> int:
        return HOURS_PER_DAY // self.per_day

    @property
    def first_hour(self) -> int:
        """The UTC hour the batch begins at."""
        return self.index * self.hours

    @property
    def start(self) -> int:
        """First second of the batch's arrivals."""
        return day_start(self.day) + self.index * (SECONDS_PER_DAY // self.per_day)

    @property
    def end(self) -> int:
        """First second after the batch's arrivals."""
        return self.start + SECONDS_PER_DAY // self.per_day

    @property
    def label(self) -> str:
        """`h07` for the batch beginning at 07:00 UTC; empty with one batch a day."""
        return "" if self.whole_day else f"h{self.first_hour:02d}"

    @property
    def streams(self) -> tuple[int, ...]:
        """Extra parts of a file's random stream name: none with one batch a day (the streams stay as they were)."""
        return () if self.whole_day else (self.per_day, self.index)

    def holds(self, arrival: int) -> bool:
        return self.start <= arrival < self.end

    def folder(self, source: str) -> str:
        """`<source>/day=YYYY-MM-DD`: the day's partition folder, shared by all its batches."""
        return f"{source}/day={day_label(self.day)}"

    def file_name(self, stem: str, suffix: str) -> str:
        """`stem` + `suffix`, with the batch label between them on sub-day batches (`workouts-h07.json.gz`).

        Names of a day's batches sort in arrival order, so a listing of a day folder is in arrival order.
        """
        return f"{stem}-{self.label}{suffix}" if self.label else f"{stem}{suffix}"


def batch_index(instant: int, day: int, per_day: int) -> int:
    """Which of the `per_day` batches of `day` an arrival at `instant` (within that day) belongs to."""
    return (instant - day_start(day)) * per_day // SECONDS_PER_DAY


def file_stream(batch: Batch, seed: int, name: str, day_stream: random.Random) -> random.Random:
    """The random stream of one batch's file, for sources whose whole-day file went on drawing from the day's stream.

    With one batch a day: a copy of `day_stream` where it stands (the day's file stays byte for byte as it was, and
    rendering it twice gives the same bytes). Sub-day batches draw from their own stream `name`, so a batch's bytes
    depend on nothing but its own identity.
    """
    if batch.whole_day:
        stream = random.Random()
        stream.setstate(day_stream.getstate())
        return stream
    return python_rng(seed, name, batch.day, *batch.streams)
