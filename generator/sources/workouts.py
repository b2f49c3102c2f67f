"""workouts: gzip-compressed JSON lines of session `start` / `stop` events, some late and some broken."""

from __future__ import annotations

from dataclasses import dataclass

from generator.activity import DayActivity, Session
from generator.clock import day_label, day_of, day_start, iso
from generator.dirt import DirtRates, dirt_count, python_rng
from generator.files import RenderedFile, text_file, with_malformed
from generator.sources.inputs import DayInputs

SOURCE = "workouts"
BROKEN_KINDS = ("stop_before_start", "stop_without_start", "start_without_stop")


@dataclass(frozen=True)
class Event:
    session: Session
    action: str
    timestamp: int
    delivered_on: int


@dataclass(frozen=True)
class SessionDirt:
    delayed: frozenset[int]
    """Session ids whose stop arrives in the next day's file although it happened today."""
    broken: dict[str, frozenset[int]]
    """Session ids per kind in BROKEN_KINDS."""


def session_dirt(activity: DayActivity, rates: DirtRates, seed: int) -> SessionDirt:
    """Which of a day's sessions are delivered late or broken; only sessions that start and stop that day qualify."""
    rng = python_rng(seed, f"{SOURCE}.dirt", activity.day)
    end = day_start(activity.day + 1)
    pool = [session.session_id for session in activity.sessions if session.stop < end]
    rng.shuffle(pool)
    picked = {}
    for kind in ("delayed", *BROKEN_KINDS):
        rate = rates.late_stop if kind == "delayed" else getattr(rates, kind)
        count = min(len(pool), dirt_count(rate, len(activity.sessions)))
        picked[kind], pool = frozenset(pool[:count]), pool[count:]
    return SessionDirt(picked.pop("delayed"), picked)


def render(inputs: DayInputs) -> list[RenderedFile]:
    """Every event delivered today: today's and yesterday's sessions, by timestamp, with a few truncated lines."""
    day, today = inputs.day, session_dirt(inputs.activity, inputs.rates, inputs.seed)
    candidates = _events(inputs.activity, today)
    if inputs.previous_activity is not None:
        yesterday = session_dirt(inputs.previous_activity, inputs.rates, inputs.seed)
        candidates += _events(inputs.previous_activity, yesterday)
    delivered = sorted(
        (event for event in candidates if event.delivered_on == day),
        key=lambda event: (event.timestamp, event.session.session_id, event.action),
    )
    rng = python_rng(inputs.seed, f"{SOURCE}.malformed", day)
    lines, malformed = with_malformed([_line(event) for event in delivered], rng, inputs.rates)
    late = [event for event in delivered if event.action == "stop" and event.session.start < day_start(day)]
    starts_due = sum(event.action == "start" and event.delivered_on > day for event in candidates)
    stops_due = sum(event.action == "stop" and event.delivered_on > day for event in candidates)
    return [
        RenderedFile(
            SOURCE,
            f"{SOURCE}/day={day_label(day)}/{SOURCE}.json.gz",
            text_file(lines, compress=True),
            records=len(lines),
            malformed=malformed,
            dirt={
                "late_stops": len(late),
                "delayed_stops": sum(event.timestamp < day_start(day) for event in late),
                **{kind: len(today.broken[kind]) for kind in BROKEN_KINDS},
            },
            events={
                "starts": sum(event.action == "start" for event in delivered),
                "stops": sum(event.action == "stop" for event in delivered),
                "starts_due_next_day": starts_due,
                "stops_due_next_day": stops_due,
                "sessions_left_open": stops_due - starts_due,
            },
        )
    ]


def _events(activity: DayActivity, dirt: SessionDirt) -> list[Event]:
    events = []
    for session in activity.sessions:
        start, stop = session.start, session.stop
        if session.session_id in dirt.broken["stop_before_start"]:
            start, stop = stop, start
        if session.session_id not in dirt.broken["stop_without_start"]:
            events.append(Event(session, "start", start, day_of(start)))
        if session.session_id not in dirt.broken["start_without_stop"]:
            late = 1 if session.session_id in dirt.delayed else 0
            events.append(Event(session, "stop", stop, day_of(stop) + late))
    return events


def _line(event: Event) -> str:
    session = event.session
    return (
        f'{{"user_id": {session.user_id}, "workout_id": {session.workout_id}, "session_id": {session.session_id}, '
        f'"action": "{event.action}", "timestamp": "{iso(event.timestamp)}"}}'
    )
