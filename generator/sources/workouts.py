"""workouts: gzip-compressed JSON lines of session `start` / `stop` events, some late and some broken.

Arrival: an event arrives at its timestamp, except a stop delivered late: a share `late_stop` of a day's stops
arrives exactly a day late (in the next day's files) and a share `late_stop_hour` exactly an hour late (in the next
batch with hourly batches, never past midnight). A session running past midnight stops on, and is delivered, the
next day. A batch's file holds the events that arrive during it, by timestamp.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from generator.activity import DayActivity, Session
from generator.batches import FROM_EARLIER_BATCHES, Batch
from generator.clock import SECONDS_PER_DAY, day_start, iso
from generator.dirt import DirtRates, dirt_count, python_rng
from generator.files import BatchRenderer, RenderedFile, text_file, with_malformed
from generator.sources.inputs import DayInputs

SOURCE = "workouts"
BROKEN_KINDS = ("stop_before_start", "stop_without_start", "start_without_stop")
HOUR_LATE = 3600


@dataclass(frozen=True)
class Event:
    session: Session
    action: str
    timestamp: int
    arrival: int


@dataclass(frozen=True)
class SessionDirt:
    delayed: frozenset[int]
    """Session ids whose stop arrives in the next day's file although it happened today."""
    hour_late: frozenset[int]
    """Session ids whose stop arrives an hour after it happened (still today)."""
    broken: dict[str, frozenset[int]]
    """Session ids per kind in BROKEN_KINDS."""


def session_dirt(activity: DayActivity, rates: DirtRates, seed: int) -> SessionDirt:
    """Which of a day's sessions are delivered late or broken; only sessions that start and stop that day qualify."""
    rng = python_rng(seed, f"{SOURCE}.dirt", activity.day)
    end = day_start(activity.day + 1)
    stops = {session.session_id: session.stop for session in activity.sessions}
    pool = [session.session_id for session in activity.sessions if session.stop < end]
    rng.shuffle(pool)
    picked = {}
    for kind in ("delayed", *BROKEN_KINDS):
        rate = rates.late_stop if kind == "delayed" else getattr(rates, kind)
        count = min(len(pool), dirt_count(rate, len(activity.sessions)))
        picked[kind], pool = frozenset(pool[:count]), pool[count:]
    # Picked last, from what is left, so the picks above are the same whatever this rate.
    before_midnight = [session_id for session_id in pool if stops[session_id] + HOUR_LATE < end]
    hour_late = frozenset(before_midnight[: dirt_count(rates.late_stop_hour, len(activity.sessions))])
    return SessionDirt(picked.pop("delayed"), hour_late, picked)


def renderer(inputs: DayInputs) -> BatchRenderer:
    """Every event that may arrive today: today's and yesterday's sessions, by timestamp."""
    today = session_dirt(inputs.activity, inputs.rates, inputs.seed)
    candidates = _events(inputs.activity, today)
    if inputs.previous_activity is not None:
        yesterday = session_dirt(inputs.previous_activity, inputs.rates, inputs.seed)
        candidates += _events(inputs.previous_activity, yesterday)
    candidates.sort(key=lambda event: (event.timestamp, event.session.session_id, event.action))
    return functools.partial(_render, tuple(candidates), today, inputs)


def _render(candidates: tuple[Event, ...], today: SessionDirt, inputs: DayInputs, batch: Batch) -> list[RenderedFile]:
    """The events that arrive during the batch, with a few truncated lines."""
    day = batch.day
    delivered = [event for event in candidates if batch.holds(event.arrival)]
    rng = python_rng(inputs.seed, f"{SOURCE}.malformed", day, *batch.streams)
    lines, malformed = with_malformed([_line(event) for event in delivered], rng, inputs.rates)
    stops = [event for event in delivered if event.action == "stop"]
    late = [event for event in stops if event.session.start < day_start(day)]
    starts_due = sum(event.action == "start" and event.arrival >= batch.end for event in candidates)
    stops_due = sum(event.action == "stop" and event.arrival >= batch.end for event in candidates)
    # A broken session is counted in the batch its true start falls in (all of today's with one batch a day).
    starting = {session.session_id for session in inputs.activity.sessions if batch.holds(session.start)}
    dirt = {
        "late_stops": len(late),
        "delayed_stops": sum(event.timestamp < day_start(day) for event in late),
        **{kind: len(today.broken[kind] & starting) for kind in BROKEN_KINDS},
    }
    due = "next_day" if batch.whole_day else "later"
    events = {
        "starts": sum(event.action == "start" for event in delivered),
        "stops": len(stops),
        f"starts_due_{due}": starts_due,
        f"stops_due_{due}": stops_due,
        "sessions_left_open": stops_due - starts_due,
    }
    if not batch.whole_day:
        dirt["hour_late_stops"] = sum(day_start(day) <= event.timestamp < batch.start for event in stops)
        events[FROM_EARLIER_BATCHES] = sum(event.timestamp < batch.start for event in delivered)
    return [
        RenderedFile(
            SOURCE,
            f"{batch.folder(SOURCE)}/{batch.file_name(SOURCE, '.json.gz')}",
            text_file(lines, compress=True),
            records=len(lines),
            malformed=malformed,
            dirt=dirt,
            events=events,
        )
    ]


def _events(activity: DayActivity, dirt: SessionDirt) -> list[Event]:
    events = []
    for session in activity.sessions:
        start, stop = session.start, session.stop
        if session.session_id in dirt.broken["stop_before_start"]:
            start, stop = stop, start
        if session.session_id not in dirt.broken["stop_without_start"]:
            events.append(Event(session, "start", start, start))
        if session.session_id not in dirt.broken["start_without_stop"]:
            events.append(Event(session, "stop", stop, stop + _stop_delay(session.session_id, dirt)))
    return events


def _stop_delay(session_id: int, dirt: SessionDirt) -> int:
    if session_id in dirt.delayed:
        return SECONDS_PER_DAY
    return HOUR_LATE if session_id in dirt.hour_late else 0


def _line(event: Event) -> str:
    session = event.session
    return (
        f'{{"user_id": {session.user_id}, "workout_id": {session.workout_id}, "session_id": {session.session_id}, '
        f'"action": "{event.action}", "timestamp": "{iso(event.timestamp)}"}}'
    )
