"""Simulated time.

Day 0 is 2026-01-05 (UTC) and day d is d days later. Inside the generator every instant is a whole number of
seconds since the Unix epoch; files render it as ISO-8601 UTC with a Z (`2026-01-05T07:31:12Z`).
"""

from __future__ import annotations

import datetime as dt
import functools

DAY0 = dt.date(2026, 1, 5)
SECONDS_PER_DAY = 86_400
DAY0_EPOCH = int(dt.datetime(DAY0.year, DAY0.month, DAY0.day, tzinfo=dt.timezone.utc).timestamp())


def day_date(day: int) -> dt.date:
    """The calendar date (UTC) of simulated day `day`."""
    return DAY0 + dt.timedelta(days=day)


def day_label(day: int) -> str:
    """`YYYY-MM-DD` of simulated day `day`, as used in `day=` partition folders."""
    return day_date(day).isoformat()


def day_of_label(label: str) -> int | None:
    """The simulated day of a `YYYY-MM-DD` label, or None if it is no date or before day 0."""
    try:
        day = (dt.date.fromisoformat(label) - DAY0).days
    except ValueError:
        return None
    return day if day >= 0 else None


def day_start(day: int) -> int:
    """The first second (UTC midnight) of simulated day `day`."""
    return DAY0_EPOCH + day * SECONDS_PER_DAY


def day_of(instant: int) -> int:
    """The simulated day an instant falls on (UTC)."""
    return (instant - DAY0_EPOCH) // SECONDS_PER_DAY


def iso(instant: int) -> str:
    """ISO-8601 UTC with a Z and whole seconds."""
    return dt.datetime.fromtimestamp(instant, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=4)
def second_labels(day: int) -> tuple[str, ...]:
    """ISO labels of every second of `day`, indexed by seconds after midnight (fast rendering of big files)."""
    prefix = day_label(day)
    return tuple(
        f"{prefix}T{hour:02d}:{minute:02d}:{second:02d}Z"
        for hour in range(24)
        for minute in range(60)
        for second in range(60)
    )
