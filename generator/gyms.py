"""The gym directory, read from the dbt seed `seeds/gyms.csv`: the one place gym ids and timezones are defined."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from generator.clock import day_date

GYMS_CSV = Path(__file__).resolve().parents[1] / "seeds" / "gyms.csv"
COLUMNS = ("gym_id", "name", "city", "state", "timezone")


@dataclass(frozen=True)
class Gym:
    gym_id: int
    name: str
    city: str
    state: str
    timezone: str

    def utc_offset(self, day: int) -> int:
        """Seconds the gym's local time is ahead of UTC on simulated day `day` (negative in the Americas)."""
        noon = dt.datetime.combine(day_date(day), dt.time(12), tzinfo=ZoneInfo(self.timezone))
        return int(noon.utcoffset().total_seconds())

    def local_date(self, instant: int) -> dt.date:
        """The calendar date at the gym when `instant` (seconds since the epoch) happens."""
        return dt.datetime.fromtimestamp(instant, ZoneInfo(self.timezone)).date()


def parse_gyms(text: str) -> tuple[Gym, ...]:
    """Parse the gym seed's CSV text, rejecting missing columns, duplicate ids and unknown timezones."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"gyms seed lacks column(s) {missing}; expected {list(COLUMNS)}")
    gyms = tuple(_gym(row, line) for line, row in enumerate(reader, start=2))
    if not gyms:
        raise ValueError("gyms seed lists no gym")
    ids = [gym.gym_id for gym in gyms]
    if len(set(ids)) != len(ids):
        raise ValueError(f"gyms seed repeats a gym_id: {sorted(ids)}")
    return tuple(sorted(gyms, key=lambda gym: gym.gym_id))


def load_gyms(path: Path = GYMS_CSV) -> tuple[Gym, ...]:
    """Read and validate the gym seed (by default the project's `seeds/gyms.csv`)."""
    return parse_gyms(Path(path).read_text(encoding="utf-8"))


def _gym(row: dict[str, str], line: int) -> Gym:
    try:
        gym_id = int(row["gym_id"])
    except (TypeError, ValueError):
        raise ValueError(f"gyms seed line {line}: gym_id {row['gym_id']!r} is not an integer") from None
    timezone = (row["timezone"] or "").strip()
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"gyms seed line {line}: {timezone!r} is not an IANA timezone") from None
    return Gym(gym_id, row["name"].strip(), row["city"].strip(), row["state"].strip(), timezone)
