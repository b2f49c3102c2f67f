"""Deterministic raw data of a gym chain: the landing files the lakehouse ingests, batch by batch.

    from pathlib import Path
    from generator import generate, local_writer

    landing = local_writer(Path(".lakehouse/landing"))
    manifest = generate(landing, days=range(3), seed=42)                    # one batch a day
    generate(landing, days=range(3, 4), batches_per_day=24)                # day 3, hour by hour
    generate(landing, days=range(4, 5), batches_per_day=24, batches=range(7, 8))  # day 4, 07:00-08:00 only

Day 0 is 2026-01-05 (UTC). A day is cut into `batches_per_day` equal batches (a divisor of 24: 1, the default, or
24 for hourly ones), and batch k holds the records that *arrive* during its slice of the day. Every record has one
arrival instant, whatever the batch size: mostly the moment it happened; copies of readings, some workout stops, a
few profile changes and gym visits (which arrive at logout) arrive later, so late data crosses batch boundaries (see
each module of `generator.sources`, and `DirtRates` for the rates). With one batch a day the files are exactly those
of the generator before sub-day batches.

The bytes of a batch depend only on (seed, scale, rates, gyms seed, batches_per_day, day, batch): generating batches
one call at a time (`days=range(d, d + 1), batches=range(k, k + 1)`) or all in one call writes the same bytes.
Nothing reads the clock or global random state. A call simulates each day it touches once, as numpy columns for
the readings (the day's dirt is drawn over the whole day), then renders only the batches asked for.

Landing layout (paths passed to `write`, relative to the landing root; `-hHH` is the batch's first UTC hour, left
out with one batch a day, so a listing sorts by arrival):

    device_registry/registry.csv                                full extract, rewritten once a day (last batch)
    user_profile_cdc/day=YYYY-MM-DD/user_profile_cdc-hHH.json   JSON lines: profile changes (new / update / delete)
    heart_rate/day=YYYY-MM-DD/heart_rate-hHH-NNN.json           JSON lines: readings, parts of <= 600k lines
    workouts/day=YYYY-MM-DD/workouts-hHH.json.gz                gzip JSON lines: session start / stop events
    gym_logins/day=YYYY-MM-DD/gym_logins-hHH.csv                CSV: gym visits by device MAC address
    _manifest/day=YYYY-MM-DD.json                               exact counts of a whole day's files (written last)
    _manifest/day=YYYY-MM-DD/hours=HH-HH.json                   ... of a sub-day batch's files (written last)

Every batch writes one file per source (heart_rate: at least one part, and a day of one batch at least two),
possibly with no record, except the registry, written with the day's last batch only: a nightly full extract of the
registry at the end of the day, rewritten in place; the manifest of that batch says `"registry_extract": true`.
`generator.manifest.parse_manifest_name` turns a manifest's path back into its `Batch` (day, index, per_day).

The simulated world is coherent: users own one device each (the registry), have a profile (the CDC feed), work
out with readings from their device during each session, and visit gyms (`seeds/gyms.csv`, the only source of gym
ids and timezones) with their device's MAC address, usually around a workout. See `DirtRates` for the kinds of dirt
and their default rates, and `Manifest` for how they are counted.

Volume: `scale=1.0` is 240 members at the start and about 4.5 MB of heart-rate JSON a day (6.7 MB from day 2,
when `signal_quality` appears), generated in well under a second per day: the size for tests and the demo.
Volume grows linearly with `scale` and with the number of days (the membership grows about 1% a day). About
1 GB of heart-rate JSON in total, the benchmark reference, is `scale=24, days=range(7)` (1.02 GB in 21 part
files of about 55 MB; 35-55 MB/s of output on one core). With `batches_per_day=24` one batch is on average 1/168
of that week (0.6%, 2-14 MB of heart-rate JSON by hour of day), and one hourly batch alone takes about 0.7 s of CPU.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

from generator.activity import plan_day
from generator.batches import BATCHES_PER_DAY, Batch
from generator.dirt import DirtRates
from generator.gyms import GYMS_CSV, load_gyms
from generator.manifest import BatchManifest, DayManifest, FileEntry, Manifest, parse_manifest_name
from generator.sources import day_renderer
from generator.sources.inputs import DayInputs
from generator.world import simulate

__all__ = [
    "DOMAINS",
    "Batch",
    "BatchManifest",
    "DayManifest",
    "DirtRates",
    "FileEntry",
    "Manifest",
    "Writer",
    "generate",
    "local_writer",
    "parse_manifest_name",
]

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
    batches_per_day: int = 1,
    batches: range | None = None,
) -> Manifest:
    """Write the landing files of `days` (e.g. `range(3)`, or `range(1, 2)` for day 1 alone) through `write`.

    `seed` picks the world; `scale` multiplies the number of members and so the volume of every source;
    `rates` sets how dirty the files are (default `DirtRates()`, `DirtRates.clean()` for none); `gyms_csv` is
    the gym directory seed. `batches_per_day` (a divisor of 24) cuts each day into batches by arrival time, and
    `batches` picks which of each day's batches to write (default all, `range(batches_per_day)`). Batches are
    written in arrival order, each one's files first, then its manifest. Returns the manifests of every batch
    written, with exact per-file record, malformed and dirt counts.
    """
    rates = DirtRates() if rates is None else rates
    _check(days, seed, scale, batches_per_day, batches)
    batches = range(batches_per_day) if batches is None else batches
    gyms = load_gyms(gyms_csv)
    written: list[BatchManifest] = []
    if len(days) and len(batches):
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
            render = day_renderer(inputs)
            for index in batches:
                batch = Batch(day, index, batches_per_day)
                files = render(batch)
                for file in files:
                    write(file.path, file.data)
                manifest = BatchManifest(batch, seed, scale, rates, tuple(FileEntry.of(file) for file in files))
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


def _check(days: range, seed: int, scale: float, batches_per_day: int, batches: range | None) -> None:
    if not isinstance(days, range) or (len(days) and (days.step < 1 or days.start < 0)):
        raise ValueError(f"days must be an ascending range of day numbers >= 0, not {days!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    if type(batches_per_day) is not int or batches_per_day not in BATCHES_PER_DAY:
        raise ValueError(f"batches_per_day must divide 24 (one of {BATCHES_PER_DAY}), not {batches_per_day!r}")
    if batches is None:
        return
    if not isinstance(batches, range) or (
        len(batches) and (batches.step < 1 or batches.start < 0 or batches[-1] >= batches_per_day)
    ):
        raise ValueError(f"batches must be an ascending range within range({batches_per_day}), not {batches!r}")


from generator.domains import DOMAINS  # noqa: E402 - the registry refers back to `generate`
