"""user_profile_cdc: JSON lines of profile changes (`new`, `update`, `delete`), a few out of order or a day late.

Arrival: an event arrives at its `updated_at`, except one placed after a later event of the same user (out of order),
which arrives an hour after that event (in a later batch than it with hourly batches; at the latest in the day's last
second), and one delayed to the next day, which arrives exactly a day after it happened.
"""

from __future__ import annotations

import functools
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass

from generator.batches import FROM_EARLIER_BATCHES, Batch, batch_index, file_stream
from generator.clock import SECONDS_PER_DAY, day_start, iso
from generator.dirt import DirtRates, dirt_count, python_rng
from generator.files import BatchRenderer, RenderedFile, scattered, text_file, with_malformed
from generator.sources.inputs import DayInputs
from generator.world import ProfileEvent, WorldDay

SOURCE = "user_profile_cdc"
OUT_OF_ORDER_DELAY = 3600


@dataclass(frozen=True)
class DayFeed:
    """The day's events in file order with their arrivals, and today's events held back for tomorrow."""

    events: tuple[ProfileEvent, ...]
    arrivals: tuple[int, ...]
    delayed: tuple[ProfileEvent, ...]
    day_stream: random.Random
    """Where the day's random stream stands once the order is drawn (malformed lines of a whole-day file)."""


def renderer(inputs: DayInputs) -> BatchRenderer:
    """Today's events, minus those delayed to tomorrow, plus yesterday's delayed ones scattered through the file."""
    delayed = delayed_events(inputs.world, inputs.rates, inputs.seed)
    on_time = [event for index, event in enumerate(inputs.world.events) if index not in delayed]
    late = []
    if inputs.previous_world is not None:
        late_indexes = delayed_events(inputs.previous_world, inputs.rates, inputs.seed)
        late = [inputs.previous_world.events[index] for index in sorted(late_indexes)]
    rng = python_rng(inputs.seed, f"{SOURCE}.order", inputs.day)
    ordered = scattered(_with_swaps(on_time, rng, inputs.rates), late, rng)
    feed = DayFeed(
        events=tuple(ordered),
        arrivals=tuple(arrivals(ordered, inputs.day)),
        delayed=tuple(inputs.world.events[index] for index in sorted(delayed)),
        day_stream=rng,
    )
    return functools.partial(_render, feed, inputs)


def _render(feed: DayFeed, inputs: DayInputs, batch: Batch) -> list[RenderedFile]:
    """The events that arrive during the batch, in file order, with a few truncated lines."""
    day = batch.day
    mine = [index for index, arrival in enumerate(feed.arrivals) if batch.holds(arrival)]
    events = [feed.events[index] for index in mine]
    rng = file_stream(batch, inputs.seed, f"{SOURCE}.malformed", feed.day_stream)
    lines, malformed = with_malformed([_line(event) for event in events], rng, inputs.rates)
    types = Counter(event.update_type for event in events)
    out_of_order = _out_of_order_as_arrived(feed, day, batch.per_day)
    late = sum(event.updated_at < day_start(day) for event in events)
    counts = {
        "new": types["new"],
        "update": types["update"],
        "delete": types["delete"],
        "delayed_to_next_day": sum(batch.holds(event.updated_at) for event in feed.delayed),
    }
    if not batch.whole_day:
        counts[FROM_EARLIER_BATCHES] = sum(event.updated_at < batch.start for event in events)
    return [
        RenderedFile(
            SOURCE,
            f"{batch.folder(SOURCE)}/{batch.file_name(SOURCE, '.json')}",
            text_file(lines),
            records=len(lines),
            malformed=malformed,
            dirt={"out_of_order": sum(out_of_order[index] for index in mine), "late_events": late},
            events=counts,
        )
    ]


def delayed_events(world: WorldDay, rates: DirtRates, seed: int) -> set[int]:
    """Indexes (into `world.events`) of the day's `update` events that arrive in the next day's file."""
    updates = [index for index, event in enumerate(world.events) if event.update_type == "update"]
    rng = python_rng(seed, f"{SOURCE}.late", world.day)
    return set(rng.sample(updates, dirt_count(rates.late_event, len(updates))))


def arrivals(events: list[ProfileEvent], day: int) -> list[int]:
    """When each event of the day's file (in file order) arrives: see the module docstring."""
    latest: dict[int, int] = {}
    result = []
    for event in events:
        if event.updated_at < day_start(day):
            result.append(event.updated_at + SECONDS_PER_DAY)
        elif latest.get(event.user_id, event.updated_at) > event.updated_at:
            result.append(min(latest[event.user_id] + OUT_OF_ORDER_DELAY, day_start(day + 1) - 1))
        else:
            latest[event.user_id] = event.updated_at
            result.append(event.updated_at)
    return result


def _out_of_order_as_arrived(feed: DayFeed, day: int, per_day: int) -> dict[int, bool]:
    """For each event (by its index in the day's file), whether it comes after an event of the same user with a later
    updated_at, in the order the day's events arrive: batch by batch, and within a batch in file order."""
    arrived = sorted(
        range(len(feed.events)), key=lambda index: (batch_index(feed.arrivals[index], day, per_day), index)
    )
    return dict(zip(arrived, out_of_order_flags([feed.events[index] for index in arrived]), strict=True))


def out_of_order_flags(events: list[ProfileEvent]) -> list[bool]:
    """For each event, whether it comes after an event of the same user with a later updated_at."""
    latest: dict[int, int] = {}
    flags = []
    for event in events:
        flags.append(latest.get(event.user_id, event.updated_at) > event.updated_at)
        latest[event.user_id] = max(latest.get(event.user_id, event.updated_at), event.updated_at)
    return flags


def _with_swaps(events: list[ProfileEvent], rng: random.Random, rates: DirtRates) -> list[ProfileEvent]:
    """For some users with several events, swap the places of their last two."""
    positions: dict[int, list[int]] = defaultdict(list)
    for position, event in enumerate(events):
        positions[event.user_id].append(position)
    several = [user_id for user_id in sorted(positions) if len(positions[user_id]) > 1]
    swapped = list(events)
    for user_id in rng.sample(several, dirt_count(rates.out_of_order, len(several))):
        before, after = positions[user_id][-2:]
        swapped[before], swapped[after] = swapped[after], swapped[before]
    return swapped


def _line(event: ProfileEvent) -> str:
    profile = event.profile
    return json.dumps(
        {
            "user_id": event.user_id,
            "update_type": event.update_type,
            "updated_at": iso(event.updated_at),
            "dob": profile.dob,
            "sex": profile.sex,
            "first_name": profile.first_name,
            "last_name": profile.last_name,
            "address": {"street": profile.street, "city": profile.city, "state": profile.state, "zip": profile.zip},
        }
    )
