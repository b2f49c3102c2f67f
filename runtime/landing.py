"""What the sample-data generator has already written to the landing zone."""

from __future__ import annotations

from generator import Batch
from generator.manifest import parse_manifest_name
from ingestion.storage import Storage


def generated_batches(storage: Storage, landing_uri: str) -> list[Batch]:
    """Batches already in the landing zone, from the generator's manifests (`_manifest/...`), in arrival order."""
    listing = storage.list_files(landing_uri.rstrip("/") + "/_manifest")
    found = [parse_manifest_name(file.path) for file in listing.files]
    return sorted((batch for batch in found if batch is not None), key=lambda b: (b.day, b.index / b.per_day))


def generated_days(storage: Storage, landing_uri: str) -> list[int]:
    """Simulated days whose last batch is in the landing zone."""
    return sorted({batch.day for batch in generated_batches(storage, landing_uri) if batch.is_last})
