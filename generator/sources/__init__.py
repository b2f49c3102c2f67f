"""One module per landing source, each turning a day's simulated world into that source's files."""

from __future__ import annotations

from collections.abc import Callable

from generator.files import RenderedFile
from generator.sources import device_registry, gym_logins, heart_rate, user_profile_cdc, workouts
from generator.sources.inputs import DayInputs

RENDERERS: dict[str, Callable[[DayInputs], list[RenderedFile]]] = {
    device_registry.SOURCE: device_registry.render,
    user_profile_cdc.SOURCE: user_profile_cdc.render,
    heart_rate.SOURCE: heart_rate.render,
    workouts.SOURCE: workouts.render,
    gym_logins.SOURCE: gym_logins.render,
}


def render_day(inputs: DayInputs) -> list[RenderedFile]:
    """Every landing file of one day, source by source."""
    return [file for render in RENDERERS.values() for file in render(inputs)]
