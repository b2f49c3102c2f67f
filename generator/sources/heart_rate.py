"""heart_rate: the big source. JSON lines of device readings, split into part files, vectorised with numpy.

Each day's files hold the readings taken that UTC day: every few seconds during workouts (including the part after
midnight of yesterday's late workouts) and about every 15 minutes otherwise, while the device is worn. Dirt: exact
duplicates, re-sent readings (same device and second, another value, arriving later), values out of range, a few
truncated lines, and from day 2 on a new field `signal_quality` on every line.

Arrival: a reading arrives at its own time, and so does a copy (duplicate or re-send), except a share
`late_copy_hour` of copies that arrive exactly an hour later (in the next batch with hourly batches), taken from
copies of readings at least an hour before midnight, so a day's lines stay in its files. A batch's files hold the
lines that arrive during it, in the day's file order (by device and time, each copy a few thousand lines after its
original).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

from generator.activity import Session
from generator.batches import FROM_EARLIER_BATCHES, Batch
from generator.clock import SECONDS_PER_DAY, day_start, second_labels
from generator.dirt import DirtRates, dirt_count, numpy_rng, python_rng
from generator.files import BatchRenderer, RenderedFile, text_file, with_malformed
from generator.sources.inputs import DayInputs

SOURCE = "heart_rate"
DRIFT_FROM_DAY = 2
PART_LINES = 600_000
"""At most this many lines per part file (about 50 MB); every day has at least MIN_PARTS parts (a batch at least
one, and a day of one batch MIN_PARTS)."""
MIN_PARTS = 2
LATE_COPY_DELAY = 3600
READING_EVERY = 6
BACKGROUND_EVERY = 900
WORN = 0.75
OUT_OF_RANGE_TENTHS = np.array([0, -10, 150, 2450, 3000])
RESENT_SHIFT_TENTHS = (10, 150)
CLEAN, OUT_OF_RANGE, DUPLICATE, RESENT = range(4)
_TENTHS_FROM = -100
_HEARTRATE_LABELS = np.array([f"{tenths / 10:.1f}" for tenths in range(_TENTHS_FROM, 3100)], dtype=object)
_QUALITY_LABELS = np.array([f"{hundredths / 100:.2f}" for hundredths in range(101)], dtype=object)


@dataclass(frozen=True)
class Readings:
    device: np.ndarray
    time: np.ndarray
    tenths: np.ndarray
    """Heart rate in tenths of a beat per minute."""

    @classmethod
    def concat(cls, parts: Sequence[Readings]) -> Readings:
        return cls(*(np.concatenate([getattr(part, name) for part in parts]) for name in ("device", "time", "tenths")))

    def where(self, mask: np.ndarray) -> Readings:
        return Readings(self.device[mask], self.time[mask], self.tenths[mask])

    def __len__(self) -> int:
        return len(self.device)


@dataclass(frozen=True)
class Lines:
    """Heart-rate lines in file order, as columns, with the dirt kind of each line."""

    device: np.ndarray
    time: np.ndarray
    tenths: np.ndarray
    quality: np.ndarray
    """signal_quality in hundredths (rendered from day 2 on)."""
    kind: np.ndarray
    arrival: np.ndarray
    """When the line arrives (seconds since the epoch, within the day)."""

    def __len__(self) -> int:
        return len(self.device)

    def take(self, index: np.ndarray | slice) -> Lines:
        """The lines at `index` (positions or a slice), in that order."""
        return Lines(*(getattr(self, column.name)[index] for column in fields(self)))

    def render(self, day: int) -> list[str]:
        """f-strings over label tables: far faster than json.dumps per reading."""
        columns = [
            self.device.tolist(),
            np.asarray(second_labels(day), dtype=object)[self.time - day_start(day)].tolist(),
            _HEARTRATE_LABELS[self.tenths - _TENTHS_FROM].tolist(),
        ]
        if day < DRIFT_FROM_DAY:
            return [f'{{"device_id": {d}, "time": "{t}", "heartrate": {h}}}' for d, t, h in zip(*columns, strict=True)]
        columns.append(_QUALITY_LABELS[self.quality].tolist())
        return [
            f'{{"device_id": {d}, "time": "{t}", "heartrate": {h}, "signal_quality": {q}}}'
            for d, t, h, q in zip(*columns, strict=True)
        ]


def renderer(inputs: DayInputs) -> BatchRenderer:
    """Simulates the day's lines (as numpy columns, fast) once; each batch then renders only its own lines."""
    lines = _dirty(day_readings(inputs), inputs.day, inputs.rates, inputs.seed)
    return functools.partial(_render, _arrivals(lines, inputs.day, inputs.rates, inputs.seed), inputs)


def _render(lines: Lines, inputs: DayInputs, batch: Batch) -> list[RenderedFile]:
    """The batch's lines split into part files, rendered one at a time."""
    day = batch.day
    if not batch.whole_day:
        lines = lines.take(np.flatnonzero((lines.arrival >= batch.start) & (lines.arrival < batch.end)))
    parts = max(math.ceil(MIN_PARTS / batch.per_day), math.ceil(len(lines) / PART_LINES))
    bounds = np.linspace(0, len(lines), parts + 1).astype(int).tolist()
    files = []
    for part, (first, last) in enumerate(itertools.pairwise(bounds)):
        rng = python_rng(inputs.seed, f"{SOURCE}.malformed", day, part, *batch.streams)
        part_lines = lines.take(slice(first, last))
        rendered, malformed = with_malformed(part_lines.render(day), rng, inputs.rates)
        counts = np.bincount(part_lines.kind, minlength=4)
        files.append(
            RenderedFile(
                SOURCE,
                f"{batch.folder(SOURCE)}/{batch.file_name(SOURCE, f'-{part:03d}.json')}",
                text_file(rendered),
                records=len(rendered),
                malformed=malformed,
                dirt={
                    "duplicates": int(counts[DUPLICATE]),
                    "resent": int(counts[RESENT]),
                    "out_of_range": int(counts[OUT_OF_RANGE]),
                    "schema_drift": last - first if day >= DRIFT_FROM_DAY else 0,
                },
                events={} if batch.whole_day else {FROM_EARLIER_BATCHES: int((part_lines.time < batch.start).sum())},
            )
        )
    return files


def day_readings(inputs: DayInputs) -> Readings:
    """Every genuine reading taken on the day, one per (device, second), sorted by device then time."""
    day, seed = inputs.day, inputs.seed
    start, end = day_start(day), day_start(day + 1)
    whole, overnight = _split_at(inputs.activity.sessions, end)
    parts = [
        session_readings(whole, numpy_rng(seed, f"{SOURCE}.sessions", day, 0)),
        session_readings(overnight, numpy_rng(seed, f"{SOURCE}.sessions", day, 1)),
    ]
    busy = list(inputs.activity.sessions)
    if inputs.previous_activity is not None:
        _, spilling = _split_at(inputs.previous_activity.sessions, start)
        parts.append(session_readings(spilling, numpy_rng(seed, f"{SOURCE}.sessions", day - 1, 1)))
        busy += spilling
    readings = Readings.concat(parts)
    readings = readings.where((readings.time >= start) & (readings.time < end))
    wearers = [
        (device.device_id, inputs.world.users[device.user_id].rest_hr)
        for device in sorted(inputs.world.devices.values(), key=lambda device: device.device_id)
        if device.user_id not in inputs.world.unsettled
    ]
    background = background_readings(wearers, busy, day, numpy_rng(seed, f"{SOURCE}.background", day))
    readings = Readings.concat([readings, background])
    return readings.where(np.lexsort((readings.time, readings.device)))


def session_readings(sessions: Sequence[Session], rng: np.random.Generator) -> Readings:
    """Readings every 4-8 seconds from start to stop: a warm-up towards the member's peak, a slow swing, noise."""
    if not sessions:
        return _empty()
    start = np.array([session.start for session in sessions])
    duration = np.array([session.stop - session.start for session in sessions])
    rest = np.array([session.rest_hr for session in sessions])
    peak = np.array([session.peak_hr for session in sessions])
    counts = duration // READING_EVERY
    owner = np.repeat(np.arange(len(sessions)), counts)
    steps = rng.integers(READING_EVERY - 2, READING_EVERY + 3, len(owner))
    elapsed = np.cumsum(steps)
    first = np.cumsum(counts) - counts
    elapsed -= np.repeat(elapsed[first] - steps[first], counts)
    effort = rng.uniform(0.7, 1.0, len(sessions))[owner]
    period = rng.uniform(60, 240, len(sessions))[owner]
    swing = 1 + 0.06 * np.sin(elapsed / period)
    warmup = 1 - np.exp(-elapsed / 240)
    bpm = rest[owner] + (peak - rest)[owner] * effort * warmup * swing + rng.normal(0, 3, len(owner))
    readings = Readings(
        np.array([session.device_id for session in sessions])[owner],
        start[owner] + elapsed,
        np.clip(np.rint(bpm * 10), 400, 2150).astype(np.int64),
    )
    return readings.where(elapsed < duration[owner])


def background_readings(
    wearers: Sequence[tuple[int, int]], busy: Sequence[Session], day: int, rng: np.random.Generator
) -> Readings:
    """About one reading per quarter hour per worn device (device_id, resting heart rate), outside workouts."""
    if not wearers:
        return _empty()
    slots = SECONDS_PER_DAY // BACKGROUND_EVERY
    device = np.repeat(np.array([device_id for device_id, _ in wearers]), slots)
    rest = np.repeat(np.array([rest_hr for _, rest_hr in wearers]), slots)
    slot_starts = np.tile(np.arange(slots) * BACKGROUND_EVERY, len(wearers))
    time = day_start(day) + slot_starts + rng.integers(0, BACKGROUND_EVERY, len(device))
    bpm = rest + rng.normal(0, 4, len(device)) + 25 * rng.random(len(device)) ** 4
    worn = rng.random(len(device)) < WORN
    readings = Readings(device, time, np.clip(np.rint(bpm * 10), 400, 2150).astype(np.int64))
    return readings.where(worn & ~_during(readings, busy, day))


def _during(readings: Readings, sessions: Sequence[Session], day: int, margin: int = 30) -> np.ndarray:
    """Which readings fall within a session (plus a margin) of their device; a member's sessions never overlap."""
    if not sessions:
        return np.zeros(len(readings), dtype=bool)
    origin, span = day_start(day - 1), 4 * SECONDS_PER_DAY
    windows = sorted((session.device_id, session.start - margin, session.stop + margin) for session in sessions)
    device, start, stop = (np.array(column) for column in zip(*windows, strict=True))
    window_start, window_stop = device * span + start - origin, device * span + stop - origin
    keys = readings.device * span + readings.time - origin
    index = np.searchsorted(window_start, keys, side="right") - 1
    return (index >= 0) & (keys < window_stop[np.maximum(index, 0)])


def _dirty(readings: Readings, day: int, rates: DirtRates, seed: int) -> Lines:
    """The day's lines in file order, with out-of-range values, duplicates and re-sent readings.

    Duplicates and re-sends copy in-range readings and arrive up to a few thousand lines after the original.
    """
    rng = numpy_rng(seed, f"{SOURCE}.dirt", day)
    count = len(readings)
    tenths, kind = readings.tenths.copy(), np.full(count, CLEAN)
    out_of_range = rng.choice(count, dirt_count(rates.out_of_range, count), replace=False)
    tenths[out_of_range] = rng.choice(OUT_OF_RANGE_TENTHS, len(out_of_range))
    kind[out_of_range] = OUT_OF_RANGE
    in_range = np.flatnonzero(kind == CLEAN)
    duplicates, resent = dirt_count(rates.duplicate, count), dirt_count(rates.resent, count)
    copied = rng.choice(in_range, min(len(in_range), duplicates + resent), replace=False)
    is_duplicate = np.arange(len(copied)) < duplicates
    shift = rng.choice([-1, 1], len(copied)) * rng.integers(*RESENT_SHIFT_TENTHS, endpoint=True, size=len(copied))
    copy_tenths = np.where(is_duplicate, tenths[copied], np.clip(tenths[copied] + shift, 300, 2300))
    quality = rng.integers(40, 101, count)
    source = np.concatenate([np.arange(count), copied])
    position = np.concatenate([np.arange(count) * 2, (copied + rng.integers(1, 5000, len(copied))) * 2 + 1])
    order = np.argsort(position, kind="stable")
    source = source[order]
    return Lines(
        device=readings.device[source],
        time=readings.time[source],
        tenths=np.concatenate([tenths, copy_tenths])[order],
        quality=quality[source],
        kind=np.concatenate([kind, np.where(is_duplicate, DUPLICATE, RESENT)])[order],
        arrival=readings.time[source],
    )


def _arrivals(lines: Lines, day: int, rates: DirtRates, seed: int) -> Lines:
    """`lines` with a share `late_copy_hour` of the copies arriving an hour late (never past the day's end).

    Drawn from a stream of its own, after the lines are made, so the lines themselves do not depend on it.
    """
    rng = numpy_rng(seed, f"{SOURCE}.arrival", day)
    is_copy = (lines.kind == DUPLICATE) | (lines.kind == RESENT)
    before_midnight = np.flatnonzero(is_copy & (lines.time + LATE_COPY_DELAY < day_start(day + 1)))
    count = min(len(before_midnight), dirt_count(rates.late_copy_hour, int(is_copy.sum())))
    late = rng.choice(before_midnight, count, replace=False)
    arrival = lines.arrival.copy()
    arrival[late] += LATE_COPY_DELAY
    return replace(lines, arrival=arrival)


def _split_at(sessions: Sequence[Session], instant: int) -> tuple[list[Session], list[Session]]:
    """Sessions over by `instant`, and those still running (or not yet started) then."""
    return [session for session in sessions if session.stop <= instant], [
        session for session in sessions if session.stop > instant
    ]


def _empty() -> Readings:
    return Readings(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
