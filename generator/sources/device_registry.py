"""device_registry: a full CSV extract of the registry, rewritten at the same path once a day.

The extract shows the registry at the end of the day and lands with the day's last batch (the only batch with one
batch a day; `h23` with hourly batches), like a nightly export: every device a reading, workout or visit of the
next day refers to is in it, because members whose registration changes do not exercise until the next day.
"""

from __future__ import annotations

import functools

from generator.batches import Batch
from generator.clock import iso
from generator.files import BatchRenderer, RenderedFile, text_file
from generator.sources.inputs import DayInputs
from generator.world import WorldDay

SOURCE = "device_registry"
PATH = f"{SOURCE}/registry.csv"
HEADER = "user_id,device_id,mac_address,registered_at,updated_at"


def renderer(inputs: DayInputs) -> BatchRenderer:
    return functools.partial(_render, inputs.world)


def _render(world: WorldDay, batch: Batch) -> list[RenderedFile]:
    """The registry at the end of the day, one row per device; no dirt (a damaged full extract would delete rows)."""
    if not batch.is_last:
        return []
    devices = sorted(world.devices.values(), key=lambda device: device.device_id)
    rows = [
        f"{device.user_id},{device.device_id},{device.mac_address},{iso(device.registered_at)},{iso(device.updated_at)}"
        for device in devices
    ]
    return [
        RenderedFile(
            SOURCE,
            PATH,
            text_file(rows, header=HEADER),
            records=len(rows),
            malformed=0,
            events=dict(world.registry_changes),
        )
    ]
