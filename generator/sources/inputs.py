"""Everything a source needs to render one day's files."""

from __future__ import annotations

from dataclasses import dataclass

from generator.activity import DayActivity
from generator.dirt import DirtRates
from generator.gyms import Gym
from generator.world import WorldDay


@dataclass(frozen=True)
class DayInputs:
    seed: int
    rates: DirtRates
    gyms: tuple[Gym, ...]
    world: WorldDay
    activity: DayActivity
    previous_world: WorldDay | None
    """The day before (None on day 0): its late deliveries and its sessions running past midnight land today."""
    previous_activity: DayActivity | None

    @property
    def day(self) -> int:
        return self.world.day
