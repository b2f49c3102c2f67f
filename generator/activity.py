"""What members do on a day: workouts (one or more sessions) and gym visits.

A day's plan covers the workouts that begin on that UTC day; their later sessions and stops may run past
midnight. Starts sit between 00:20 and 24:00 UTC and a workout lasts at most about 3.5 hours, so one member's
workouts on consecutive days never overlap, and nobody exercises on a day their registration changes.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from generator.clock import SECONDS_PER_DAY, day_start
from generator.dirt import python_rng
from generator.gyms import Gym
from generator.world import User, WorldDay

JITTER = 40 * 60
EARLIEST_START = 20 * 60
DROP_IN = 0.04
AWAY_GYM = 0.1
# Drop-in visits (no workout) stay within 04:00-23:30 UTC, clear of workouts on the days before and after.
DROP_IN_FROM = 4 * 3600
DROP_IN_UNTIL = 22 * 3600


@dataclass(frozen=True)
class Session:
    user_id: int
    device_id: int
    workout_id: int
    session_id: int
    start: int
    stop: int
    rest_hr: int
    peak_hr: int


@dataclass(frozen=True)
class Visit:
    user_id: int
    mac_address: str
    gym_id: int
    login: int
    logout: int


@dataclass(frozen=True)
class DayActivity:
    day: int
    sessions: tuple[Session, ...]
    visits: tuple[Visit, ...]


def day_scoped_id(day: int, number: int) -> int:
    """Ids unique across days without shared counters: 10000001, 10000002, ... on day 0, 20000001 on day 1."""
    if not 0 < number < 10_000_000:
        raise ValueError(f"more than 9,999,999 ids in one day ({number})")
    return (day + 1) * 10_000_000 + number


def plan_day(world: WorldDay, gyms: Sequence[Gym], seed: int) -> DayActivity:
    """Workouts and visits of every settled member on `world.day`."""
    rng = python_rng(seed, "activity", world.day)
    offsets = {gym.gym_id: gym.utc_offset(world.day) for gym in gyms}
    workout_ids = (day_scoped_id(world.day, number) for number in itertools.count(1))
    session_ids = (day_scoped_id(world.day, number) for number in itertools.count(1))
    sessions: list[Session] = []
    visits: list[Visit] = []
    for user_id in sorted(world.users):
        if user_id in world.unsettled:
            continue
        user = world.users[user_id]
        mac = world.devices[user.device_id].mac_address
        utc_minute = (user.start_minute * 60 - offsets[user.home_gym_id]) % SECONDS_PER_DAY
        if rng.random() < user.activity:
            workout = _workout(rng, user, world.day, utc_minute, next(workout_ids), session_ids)
            sessions.extend(workout)
            if rng.random() < user.gym_share:
                login = workout[0].start - rng.randint(120, 900)
                logout = workout[-1].stop + rng.randint(120, 1200)
                visits.append(Visit(user_id, mac, _gym_for(rng, user, gyms), login, logout))
        elif rng.random() < DROP_IN:
            usual = min(max(utc_minute + rng.randint(-JITTER, JITTER), DROP_IN_FROM), DROP_IN_UNTIL)
            login = day_start(world.day) + usual
            visits.append(Visit(user_id, mac, user.home_gym_id, login, login + rng.randint(20 * 60, 90 * 60)))
    return DayActivity(world.day, tuple(sessions), tuple(visits))


def _workout(
    rng: random.Random, user: User, day: int, utc_minute: int, workout_id: int, session_ids: Iterator[int]
) -> list[Session]:
    """One to three sessions with short breaks, starting near the member's usual time of day."""
    usual = min(max(utc_minute, EARLIEST_START + JITTER), SECONDS_PER_DAY - JITTER)
    start = day_start(day) + usual + rng.randint(-JITTER, JITTER - 1)
    sessions = []
    for _ in range(rng.choices((1, 2, 3), weights=(0.6, 0.3, 0.1))[0]):
        stop = start + rng.randint(12 * 60, 55 * 60)
        sessions.append(
            Session(
                user_id=user.user_id,
                device_id=user.device_id,
                workout_id=workout_id,
                session_id=next(session_ids),
                start=start,
                stop=stop,
                rest_hr=user.rest_hr,
                peak_hr=user.peak_hr,
            )
        )
        start = stop + rng.randint(3 * 60, 15 * 60)
    return sessions


def _gym_for(rng: random.Random, user: User, gyms: Sequence[Gym]) -> int:
    if len(gyms) > 1 and rng.random() < AWAY_GYM:
        return rng.choice([gym.gym_id for gym in gyms if gym.gym_id != user.home_gym_id])
    return user.home_gym_id
