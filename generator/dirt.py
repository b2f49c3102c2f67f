"""How dirty the landing files are, and the exact count each rate turns into.

A rate is a share of the population it applies to (readings, events, sessions, visits). A kind with a positive
rate appears at least once in every file or day that has a population for it, so small runs still exercise every
cleaning rule; a rate of 0 turns the kind off.

Sub-day rates only move records between the batches of one day (never into another day), so they change nothing
with one batch a day, and the manifests of one-batch-a-day runs leave them out (`DirtRates.to_dict`).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field, fields

import numpy as np


@dataclass(frozen=True)
class DirtRates:
    duplicate: float = 0.02
    """heart_rate: exact duplicate lines, as a share of the day's readings."""
    resent: float = 0.005
    """heart_rate: readings sent again with the same device_id and time but another heartrate."""
    out_of_range: float = 0.005
    """heart_rate: heartrate outside the physiological range 25..240 (0, -1, 15, 245, 300)."""
    malformed: float = 0.0001
    """Every JSON source and gym_logins: unparseable lines (truncated JSON, CSV rows with a wrong field count)."""
    malformed_min: int = 2
    """... and at least this many malformed lines per file while `malformed` is positive."""
    out_of_order: float = 0.05
    """user_profile_cdc: share of users with several events in a file whose last two events swap places."""
    late_event: float = 0.05
    """user_profile_cdc: share of a day's `update` events delivered in the next day's file."""
    late_stop: float = 0.02
    """workouts: share of a day's stops delivered in the next day's file (on top of sessions crossing midnight)."""
    stop_before_start: float = 0.01
    """workouts: sessions whose stop timestamp precedes their start."""
    stop_without_start: float = 0.01
    """workouts: sessions whose start event never arrives."""
    start_without_stop: float = 0.01
    """workouts: sessions whose stop event never arrives."""
    bad_visit: float = 0.01
    """gym_logins: visits with logout <= login."""
    late_copy_hour: float = field(default=0.2, metadata={"sub_day": True})
    """heart_rate (sub-day): share of duplicates and re-sent readings arriving exactly an hour after the reading (the
    others arrive with it); only copies of readings at least an hour before midnight qualify."""
    late_stop_hour: float = field(default=0.03, metadata={"sub_day": True})
    """workouts (sub-day): share of a day's sessions whose stop arrives exactly an hour late; only stops at least an
    hour before midnight qualify, and not those already late, broken or delivered a day late."""

    def __post_init__(self) -> None:
        check_rates(self)

    @classmethod
    def clean(cls) -> DirtRates:
        """No dirt at all: every rate 0 (sessions running past midnight still stop on the next day, and gym visits
        still arrive at logout, possibly in a later batch; they are not dirt)."""
        return cls(**{rate.name: 0 for rate in fields(cls)})

    def to_dict(self, *, sub_day: bool = True) -> dict[str, float]:
        """Every rate by name; `sub_day=False` leaves out those that only move records between batches of a day."""
        return {
            rate.name: getattr(self, rate.name) for rate in fields(self) if sub_day or not rate.metadata.get("sub_day")
        }


def check_rates(rates) -> None:
    """Every field of a domain's rates dataclass is a share between 0 and 1, but `malformed_min`, a count."""
    for rate in fields(rates):
        value = getattr(rates, rate.name)
        if rate.name == "malformed_min":
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"malformed_min must be a non-negative integer, not {value!r}")
        elif not 0 <= value <= 1:
            raise ValueError(f"dirt rate {rate.name}={value!r} is not between 0 and 1")


def dirt_count(rate: float, population: int, minimum: int = 1) -> int:
    """How many of `population` items get a kind of dirt: round(rate * population), at least `minimum`, at most all."""
    if rate <= 0 or population <= 0:
        return 0
    return min(population, max(minimum, round(rate * population)))


def stream_id(name: str) -> int:
    """A stable number for a named random stream (Python's hash() changes between processes)."""
    return zlib.crc32(name.encode())


def python_rng(seed: int, name: str, day: int, *more: int) -> random.Random:
    """The random stream `name` of `day`: independent of every other stream, of call order and of the clock."""
    return random.Random(":".join(str(part) for part in (seed, name, day, *more)))


def numpy_rng(seed: int, name: str, day: int, *more: int) -> np.random.Generator:
    """numpy twin of `python_rng`, for vectorised streams."""
    return np.random.default_rng([seed, stream_id(name), day, *more])
