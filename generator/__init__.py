"""Deterministic raw data of a gym chain: the landing files the lakehouse ingests, one batch per simulated day.

    from pathlib import Path
    from generator import generate, local_writer

    manifest = generate(local_writer(Path(".lakehouse/landing")), days=range(3), seed=42)

Day 0 is 2026-01-05 (UTC). Every file of day d depends only on (seed, scale, rates, gyms seed, d): generating
days one call at a time or all in one call writes the same bytes. Nothing reads the clock or global random state.

Landing layout (paths passed to `write`, relative to the landing root):

    device_registry/registry.csv                          full extract, rewritten every day
    user_profile_cdc/day=YYYY-MM-DD/user_profile_cdc.json JSON lines: profile changes (new / update / delete)
    heart_rate/day=YYYY-MM-DD/heart_rate-NNN.json         JSON lines: readings, >= 2 parts of <= 600k lines a day
    workouts/day=YYYY-MM-DD/workouts.json.gz              gzip JSON lines: session start / stop events
    gym_logins/day=YYYY-MM-DD/gym_logins.csv              CSV: gym visits by device MAC address
    _manifest/day=YYYY-MM-DD.json                         exact counts of the day's files (written last)

The simulated world is coherent: users own one device each (the registry), have a profile (the CDC feed), work
out with readings from their device during each session, and visit gyms (`seeds/gyms.csv`, the only source of gym
ids and timezones) with their device's MAC address, usually around a workout. See `DirtRates` for the kinds of dirt
and their default rates, and `Manifest` for how they are counted.

Volume: `scale=1.0` is 240 members at the start and about 4.5 MB of heart-rate JSON a day (6.7 MB from day 2,
when `signal_quality` appears), generated in well under a second per day: the size for tests and the demo.
Volume grows linearly with `scale` and with the number of days (the membership grows about 1% a day). About
1 GB of heart-rate JSON in total, the benchmark reference, is `scale=24, days=range(7)` (1.02 GB in 21 part
files of about 55 MB; 35-55 MB/s of output on one core).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

from generator.activity import plan_day
from generator.dirt import DirtRates
from generator.gyms import GYMS_CSV, load_gyms
from generator.manifest import DayManifest, FileEntry, Manifest
from generator.sources import render_day
from generator.sources.inputs import DayInputs
from generator.world import simulate

__all__ = ["DayManifest", "DirtRates", "FileEntry", "Manifest", "Writer", "generate", "local_writer"]

Writer = Callable[[str, bytes], None]
"""Receives each file as (path relative to the landing root, content)."""


def generate(
    write: Writer,
    *,
    days: range,
    seed: int = 42,
    scale: float = 1.0,
    rates: DirtRates | None = None,
    gyms_csv: Path = GYMS_CSV,
) -> Manifest:
    """Write the landing files of `days` (e.g. `range(3)`, or `range(1, 2)` for day 1 alone) through `write`.

    `seed` picks the world; `scale` multiplies the number of members and so the volume of every source;
    `rates` sets how dirty the files are (default `DirtRates()`, `DirtRates.clean()` for none); `gyms_csv` is
    the gym directory seed. Each day's files are written first, then its manifest. Returns the manifests of
    every day written, with exact per-file record, malformed and dirt counts.
    """
    rates = DirtRates() if rates is None else rates
    _check(days, seed, scale)
    gyms = load_gyms(gyms_csv)
    written: list[DayManifest] = []
    if len(days):
        world = simulate(seed, scale, gyms, max(days))
        activity = functools.cache(lambda day: plan_day(world[day], gyms, seed))
        for day in days:
            inputs = DayInputs(
                seed=seed,
                rates=rates,
                gyms=gyms,
                world=world[day],
                activity=activity(day),
                previous_world=world[day - 1] if day else None,
                previous_activity=activity(day - 1) if day else None,
            )
            files = render_day(inputs)
            for file in files:
                write(file.path, file.data)
            manifest = DayManifest(day, seed, scale, rates, tuple(FileEntry.of(file) for file in files))
            write(manifest.path, manifest.to_json())
            written.append(manifest)
    return Manifest(seed, scale, rates, tuple(written))


def local_writer(root: Path) -> Writer:
    """A writer into a local folder: parents are created, and each file appears whole (written aside, then renamed)."""
    root = Path(root)

    def write(relative_path: str, data: bytes) -> None:
        target = root / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.tmp")
        staging.write_bytes(data)
        os.replace(staging, target)

    return write


def _check(days: range, seed: int, scale: float) -> None:
    if not isinstance(days, range) or (len(days) and (days.step < 1 or days.start < 0)):
        raise ValueError(f"days must be an ascending range of day numbers >= 0, not {days!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
