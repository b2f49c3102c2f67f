"""One module per landing source, each turning a day's simulated world into that source's files, batch by batch.

A source's `renderer(inputs)` simulates the day once (every record with its arrival) and returns a function that
renders the files of any batch of that day.
"""

from __future__ import annotations

from collections.abc import Callable

from generator.batches import Batch
from generator.files import BatchRenderer, RenderedFile
from generator.sources import device_registry, gym_logins, heart_rate, user_profile_cdc, workouts
from generator.sources.inputs import DayInputs

RENDERERS: dict[str, Callable[[DayInputs], BatchRenderer]] = {
    device_registry.SOURCE: device_registry.renderer,
    user_profile_cdc.SOURCE: user_profile_cdc.renderer,
    heart_rate.SOURCE: heart_rate.renderer,
    workouts.SOURCE: workouts.renderer,
    gym_logins.SOURCE: gym_logins.renderer,
}


def day_renderer(inputs: DayInputs) -> BatchRenderer:
    """Every landing file of one batch of the day, source by source."""
    renderers = [renderer(inputs) for renderer in RENDERERS.values()]

    def render(batch: Batch) -> list[RenderedFile]:
        return [file for render_source in renderers for file in render_source(batch)]

    return render
