"""What the sample-data generator has already written to the landing zone."""

from __future__ import annotations

import re
from datetime import date

from ingestion.storage import Storage


def generated_days(storage: Storage, landing_uri: str) -> list[int]:
    """Simulated days already in the landing zone, from the generator's manifests (_manifest/day=...json)."""
    from generator.clock import DAY0

    days = []
    for name in storage.names(landing_uri.rstrip("/") + "/_manifest"):
        match = re.match(r"day=(\d{4}-\d{2}-\d{2})\.json$", name)
        if match:
            days.append((date.fromisoformat(match.group(1)) - DAY0).days)
    return sorted(days)
