"""The simulated membership: users, their devices (the registry) and their profile history (the CDC feed).

The world evolves day by day from day 0, each day drawing from its own random stream, so the state on day d
depends only on the seed, the scale and the gyms, never on which days a caller asks for.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from generator.clock import SECONDS_PER_DAY, day_start
from generator.dirt import python_rng
from generator.gyms import Gym
from generator.people import Profile, changed_profile, new_profile

BASE_USERS = 240
NEW_USERS = 0.02
DELETED_USERS = 0.01
REASSIGNED_DEVICES = 0.01
PROFILE_UPDATES = 0.06
SAME_DAY_UPDATE = 0.25
FIRST_DEVICE_ID = 100_001
# Registrations change between 04:00 and 22:00 UTC: after the previous day's late workouts have ended, and early
# enough for a same-day profile update to follow.
CHANGES_FROM = 4 * 3600
CHANGES_UNTIL = 22 * 3600
INITIAL_LOAD = 3600


@dataclass(frozen=True)
class User:
    user_id: int
    device_id: int
    home_gym_id: int
    profile: Profile
    activity: float
    """Chance of a workout on any given day."""
    start_minute: int
    """Preferred local start of a workout, minutes after local midnight."""
    gym_share: float
    """Share of workouts done at a gym (the rest are outdoors, with no visit)."""
    rest_hr: int
    peak_hr: int


@dataclass(frozen=True)
class Device:
    device_id: int
    user_id: int
    mac_address: str
    registered_at: int
    updated_at: int


@dataclass(frozen=True)
class ProfileEvent:
    user_id: int
    update_type: str
    updated_at: int
    profile: Profile


@dataclass(frozen=True)
class WorldDay:
    day: int
    users: Mapping[int, User]
    """Registered users at the end of the day, by user_id."""
    devices: Mapping[int, Device]
    """The device registry at the end of the day, by device_id."""
    events: tuple[ProfileEvent, ...]
    """Profile changes that happened during the day, by updated_at."""
    unsettled: frozenset[int]
    """Users whose registration changed during the day; they do not exercise until the next day."""
    registry_changes: Mapping[str, int]


def mac_address(device_id: int) -> str:
    """A unique MAC per device: an odd multiplier is a bijection on 40 bits, behind a fixed first octet."""
    bits = (device_id * 0x9E3779B97F4A7C15) & 0xFF_FFFF_FFFF
    return ":".join(f"{octet:02x}" for octet in (0xA4, *bits.to_bytes(5, "big")))


def simulate(seed: int, scale: float, gyms: Sequence[Gym], last_day: int) -> list[WorldDay]:
    """The world at the end of each of days 0..last_day."""
    users: dict[int, User] = {}
    devices: dict[int, Device] = {}
    user_ids = itertools.count(1)
    device_ids = itertools.count(FIRST_DEVICE_ID)
    days: list[WorldDay] = []
    for day in range(last_day + 1):
        rng = python_rng(seed, "world", day)
        if day == 0:
            events, unsettled, changes = _found(rng, users, devices, gyms, user_ids, device_ids, scale)
        else:
            events, unsettled, changes = _evolve(rng, day, users, devices, gyms, user_ids, device_ids)
        events += _profile_updates(rng, day, users, gyms, events)
        days.append(
            WorldDay(
                day=day,
                users=MappingProxyType(dict(users)),
                devices=MappingProxyType(dict(devices)),
                events=tuple(sorted(events, key=lambda event: (event.updated_at, event.user_id))),
                unsettled=frozenset(unsettled),
                registry_changes=MappingProxyType(changes),
            )
        )
    return days


def _found(
    rng: random.Random,
    users: dict[int, User],
    devices: dict[int, Device],
    gyms: Sequence[Gym],
    user_ids: Iterator[int],
    device_ids: Iterator[int],
    scale: float,
) -> tuple[list[ProfileEvent], set[int], dict[str, int]]:
    # Members registered their devices during the past year; the CDC feed starts on day 0 with an initial load.
    events = []
    for _ in range(max(10, round(BASE_USERS * scale))):
        registered_at = day_start(0) - rng.randint(SECONDS_PER_DAY, 365 * SECONDS_PER_DAY)
        user = _new_user(rng, next(user_ids), next(device_ids), gyms)
        users[user.user_id] = user
        devices[user.device_id] = Device(
            user.device_id, user.user_id, mac_address(user.device_id), registered_at, registered_at
        )
        events.append(ProfileEvent(user.user_id, "new", day_start(0) + rng.randrange(INITIAL_LOAD), user.profile))
    return events, set(), {"new_devices": len(devices), "reassigned_devices": 0, "removed_devices": 0}


def _evolve(
    rng: random.Random,
    day: int,
    users: dict[int, User],
    devices: dict[int, Device],
    gyms: Sequence[Gym],
    user_ids: Iterator[int],
    device_ids: Iterator[int],
) -> tuple[list[ProfileEvent], set[int], dict[str, int]]:
    """Members leave (registration deleted), join, and hand devices on to new members (who then get a new one)."""
    existing = sorted(users)
    joining = max(1, round(NEW_USERS * len(existing)))
    handing_on = min(joining, max(1, round(REASSIGNED_DEVICES * len(existing))))
    leaving = min(len(existing) - handing_on, max(1, round(DELETED_USERS * len(existing))))
    picked = rng.sample(existing, leaving + handing_on)
    leavers, givers = picked[:leaving], picked[leaving:]
    events = []
    for user_id in leavers:
        user = users.pop(user_id)
        del devices[user.device_id]
        events.append(ProfileEvent(user_id, "delete", _change_time(rng, day), user.profile))
    joiners = []
    for index in range(joining):
        joined_at = _change_time(rng, day)
        registered_at = joined_at + rng.randint(60, 1800)
        user = _new_user(rng, next(user_ids), next(device_ids), gyms)
        if index < handing_on:
            giver = users[givers[index]]
            handed = devices[giver.device_id]
            devices[handed.device_id] = replace(handed, user_id=user.user_id, updated_at=registered_at)
            users[giver.user_id] = replace(giver, device_id=user.device_id)
            devices[user.device_id] = Device(
                user.device_id, giver.user_id, mac_address(user.device_id), registered_at, registered_at
            )
            user = replace(user, device_id=handed.device_id)
        else:
            devices[user.device_id] = Device(
                user.device_id, user.user_id, mac_address(user.device_id), registered_at, registered_at
            )
        users[user.user_id] = user
        joiners.append(user.user_id)
        events.append(ProfileEvent(user.user_id, "new", joined_at, user.profile))
    changes = {"new_devices": joining, "reassigned_devices": handing_on, "removed_devices": leaving}
    return events, {*leavers, *givers, *joiners}, changes


def _profile_updates(
    rng: random.Random, day: int, users: dict[int, User], gyms: Sequence[Gym], earlier: list[ProfileEvent]
) -> list[ProfileEvent]:
    """Some members change their profile one to three times today; some of today's new members update it at once.

    Updates come after the member's `new` event (on day 0, after the initial load); `users` gets the new profiles.
    """
    gym_by_id = {gym.gym_id: gym for gym in gyms}
    joined_at = {event.user_id: event.updated_at for event in earlier if event.update_type == "new"}
    first = day_start(day) + (INITIAL_LOAD if day == 0 else 60)
    last = day_start(day + 1) - 60
    regular = sorted(users) if day == 0 else [user_id for user_id in sorted(users) if user_id not in joined_at]
    chosen = rng.sample(regular, min(len(regular), max(1, round(PROFILE_UPDATES * len(users)))))
    if day > 0:
        chosen += [user_id for user_id in sorted(joined_at) if rng.random() < SAME_DAY_UPDATE]
    events = []
    for user_id in chosen:
        start = max(first, joined_at.get(user_id, first) + 1)
        changes = rng.choices((1, 2, 3), weights=(0.7, 0.2, 0.1))[0]
        user = users[user_id]
        for updated_at in sorted(rng.sample(range(start, last), changes)):
            user = replace(user, profile=changed_profile(rng, user.profile, gym_by_id[user.home_gym_id]))
            events.append(ProfileEvent(user_id, "update", updated_at, user.profile))
        users[user_id] = user
    return events


def _new_user(rng: random.Random, user_id: int, device_id: int, gyms: Sequence[Gym]) -> User:
    gym = rng.choice(gyms)
    return User(
        user_id=user_id,
        device_id=device_id,
        home_gym_id=gym.gym_id,
        profile=new_profile(rng, gym),
        activity=rng.betavariate(2, 3),
        start_minute=_preferred_start(rng),
        gym_share=0.0 if rng.random() < 0.1 else rng.uniform(0.5, 1.0),
        rest_hr=rng.randint(50, 80),
        peak_hr=rng.randint(140, 185),
    )


def _preferred_start(rng: random.Random) -> int:
    """Early birds, lunch breaks, after work, and a few night owls whose visits cross local midnight."""
    habit = rng.random()
    if habit < 0.35:
        return rng.randint(5 * 60 + 30, 8 * 60 + 30)
    if habit < 0.5:
        return rng.randint(11 * 60 + 30, 13 * 60 + 30)
    if habit < 0.94:
        return rng.randint(17 * 60, 20 * 60 + 30)
    return rng.randint(22 * 60 + 45, 23 * 60 + 30)


def _change_time(rng: random.Random, day: int) -> int:
    return day_start(day) + rng.randint(CHANGES_FROM, CHANGES_UNTIL)
