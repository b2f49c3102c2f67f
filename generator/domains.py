"""The data domains the generator simulates, by name: what `lakehouse generate --domain` and `lakehouse demo` land.

A domain is its landing files (written by `generate`), a manifest folder under the landing root from which the
days already landed are read back, and how the demo lands it. The lakehouse itself knows domains only as
configuration and SQL (lakehouse.yml, models/, seeds/); this registry is the generator's side of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from generator import orders
from generator.manifest import MANIFEST_FOLDER, Manifest, parse_manifest_name


@dataclass(frozen=True)
class Domain:
    name: str
    description: str
    generate: Callable[..., Manifest]
    """`generate(write, days=range, seed=int, scale=float, ...)`: writes days' files and manifests, returns these."""
    manifest_folder: str
    """Where its manifests are, under the landing root."""
    landed_days: Callable[[Iterable[str]], list[int]]
    """Whole days already landed, from the paths of files listed under `manifest_folder`."""
    demo_days: int
    """How many days the demo's first run lands (each later run lands one more)."""
    sub_day_batches: bool
    """Whether `generate` takes `batches_per_day` and `batches`."""


def _fitness_days(paths: Iterable[str]) -> list[int]:
    batches = (parse_manifest_name(path) for path in paths)
    return sorted({batch.day for batch in batches if batch is not None and batch.is_last})


def _fitness_generate(*args, **kwargs) -> Manifest:
    from generator import generate

    return generate(*args, **kwargs)


DOMAINS: dict[str, Domain] = {
    "fitness": Domain(
        name="fitness",
        description="a gym chain: member profiles, devices, heart-rate readings, workouts, gym visits",
        generate=_fitness_generate,
        manifest_folder=MANIFEST_FOLDER,
        landed_days=_fitness_days,
        demo_days=3,
        sub_day_batches=True,
    ),
    "orders": Domain(
        name="orders",
        description="a retail chain: customers, orders with line items and changing statuses, refunds",
        generate=orders.generate,
        manifest_folder=orders.MANIFEST_FOLDER,
        landed_days=orders.landed_days,
        demo_days=7,
        sub_day_batches=False,
    ),
}
