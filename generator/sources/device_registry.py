"""device_registry: a full CSV extract of the registry, rewritten at the same path every day."""

from __future__ import annotations

from generator.clock import iso
from generator.files import RenderedFile, text_file
from generator.sources.inputs import DayInputs

SOURCE = "device_registry"
PATH = f"{SOURCE}/registry.csv"
HEADER = "user_id,device_id,mac_address,registered_at,updated_at"


def render(inputs: DayInputs) -> list[RenderedFile]:
    """The registry at the end of the day, one row per device; no dirt (a damaged full extract would delete rows)."""
    devices = sorted(inputs.world.devices.values(), key=lambda device: device.device_id)
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
            events=dict(inputs.world.registry_changes),
        )
    ]
