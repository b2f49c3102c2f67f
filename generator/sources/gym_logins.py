"""gym_logins: CSV of gym visits by device MAC; a few end before they begin, a couple of rows lack or add a field.

Arrival: a visit's row arrives when the member logs out, so a visit spanning a batch boundary arrives in a later
batch than its login. Visits belong to the UTC day of their login: one still open at midnight arrives in the day's
last second, with its logout to come.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from generator.activity import Visit
from generator.batches import FROM_EARLIER_BATCHES, Batch, file_stream
from generator.clock import day_start, iso
from generator.dirt import dirt_count, python_rng
from generator.files import BatchRenderer, RenderedFile, text_file, with_malformed
from generator.gyms import Gym
from generator.sources.inputs import DayInputs

SOURCE = "gym_logins"
HEADER = "mac_address,gym_id,login,logout"


@dataclass(frozen=True)
class Row:
    text: str
    visit: Visit
    bad: bool
    """Written with a logout at or before the login."""
    across_local_midnight: bool
    arrival: int


def renderer(inputs: DayInputs) -> BatchRenderer:
    """The rows of the visits that began today (UTC), by login time, each with its arrival."""
    rng = python_rng(inputs.seed, f"{SOURCE}.dirt", inputs.day)
    gyms = {gym.gym_id: gym for gym in inputs.gyms}
    visits = sorted(inputs.activity.visits, key=lambda visit: (visit.login, visit.mac_address))
    bad = set(rng.sample(range(len(visits)), dirt_count(inputs.rates.bad_visit, len(visits))))
    rows = [_row(visit, index in bad, gyms[visit.gym_id], inputs.day, rng) for index, visit in enumerate(visits)]
    return functools.partial(_render, tuple(rows), rng, inputs)


def _row(visit: Visit, bad: bool, gym: Gym, day: int, rng: random.Random) -> Row:
    logout = visit.login - rng.randint(0, 1800) if bad else visit.logout
    return Row(
        text=f"{visit.mac_address},{visit.gym_id},{iso(visit.login)},{iso(logout)}",
        visit=visit,
        bad=bad,
        across_local_midnight=not bad and gym.local_date(visit.login) != gym.local_date(logout),
        arrival=min(visit.logout, day_start(day + 1) - 1),
    )


def _render(rows: tuple[Row, ...], day_stream: random.Random, inputs: DayInputs, batch: Batch) -> list[RenderedFile]:
    """The rows that arrive during the batch, a few damaged."""
    rows = tuple(row for row in rows if batch.holds(row.arrival))
    rng = file_stream(batch, inputs.seed, f"{SOURCE}.malformed", day_stream)
    lines, malformed = with_malformed([row.text for row in rows], rng, inputs.rates, csv=True)
    events = {"visits": len(rows), "visits_across_local_midnight": sum(row.across_local_midnight for row in rows)}
    if not batch.whole_day:
        events[FROM_EARLIER_BATCHES] = sum(row.visit.login < batch.start for row in rows)
    return [
        RenderedFile(
            SOURCE,
            f"{batch.folder(SOURCE)}/{batch.file_name(SOURCE, '.csv')}",
            text_file(lines, header=HEADER),
            records=len(lines),
            malformed=malformed,
            dirt={"bad_visits": sum(row.bad for row in rows)},
            events=events,
        )
    ]
