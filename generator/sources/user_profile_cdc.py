"""user_profile_cdc: JSON lines of profile changes (`new`, `update`, `delete`), a few out of order or a day late."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict

from generator.clock import day_label, iso
from generator.dirt import DirtRates, dirt_count, python_rng
from generator.files import RenderedFile, scattered, text_file, with_malformed
from generator.sources.inputs import DayInputs
from generator.world import ProfileEvent, WorldDay

SOURCE = "user_profile_cdc"


def render(inputs: DayInputs) -> list[RenderedFile]:
    """Today's events, minus those delayed to tomorrow, plus yesterday's delayed ones scattered through the file."""
    delayed = delayed_events(inputs.world, inputs.rates, inputs.seed)
    on_time = [event for index, event in enumerate(inputs.world.events) if index not in delayed]
    late = []
    if inputs.previous_world is not None:
        late_indexes = delayed_events(inputs.previous_world, inputs.rates, inputs.seed)
        late = [inputs.previous_world.events[index] for index in sorted(late_indexes)]
    rng = python_rng(inputs.seed, f"{SOURCE}.order", inputs.day)
    ordered = scattered(_with_swaps(on_time, rng, inputs.rates), late, rng)
    lines, malformed = with_malformed([_line(event) for event in ordered], rng, inputs.rates)
    types = Counter(event.update_type for event in ordered)
    return [
        RenderedFile(
            SOURCE,
            f"{SOURCE}/day={day_label(inputs.day)}/{SOURCE}.json",
            text_file(lines),
            records=len(lines),
            malformed=malformed,
            dirt={"out_of_order": out_of_order(ordered), "late_events": len(late)},
            events={
                "new": types["new"],
                "update": types["update"],
                "delete": types["delete"],
                "delayed_to_next_day": len(delayed),
            },
        )
    ]


def delayed_events(world: WorldDay, rates: DirtRates, seed: int) -> set[int]:
    """Indexes (into `world.events`) of the day's `update` events that arrive in the next day's file."""
    updates = [index for index, event in enumerate(world.events) if event.update_type == "update"]
    rng = python_rng(seed, f"{SOURCE}.late", world.day)
    return set(rng.sample(updates, dirt_count(rates.late_event, len(updates))))


def out_of_order(events: list[ProfileEvent]) -> int:
    """Events that come after an event of the same user with a later updated_at."""
    latest: dict[int, int] = {}
    count = 0
    for event in events:
        if latest.get(event.user_id, event.updated_at) > event.updated_at:
            count += 1
        latest[event.user_id] = max(latest.get(event.user_id, event.updated_at), event.updated_at)
    return count


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
