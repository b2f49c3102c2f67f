"""Deterministic raw data of a retail chain: customers, orders with line items, refunds, one day at a time.

    from generator import local_writer
    from generator.orders import generate

    manifest = generate(local_writer(Path(".lakehouse/landing")), days=range(7), seed=42)

Stores, products (USD list prices) and currencies come from the dbt seeds `stores.csv`, `products.csv` and
`currencies.csv` (see `catalog`). Landing layout (relative to the landing root; a day's files are written first,
then its manifest):

    customers/day=YYYY-MM-DD/customers.json   JSON lines: day 0's customer base, then each day's sign-ups and updates
    orders/day=YYYY-MM-DD/orders.json         JSON lines: order events, each carrying the whole order and its items
    refunds/day=YYYY-MM-DD/refunds.json       JSON lines: refunds of one line each, made days after delivery
    _manifest/orders/day=YYYY-MM-DD.json      exact counts of the day's files (the fitness manifest's shape)

An order is `placed`, `paid` minutes later, then either `cancelled` within hours (5%) or `shipped` 1-2 days later and
`delivered` 1-3 days after that; every event is a line of the orders file of the day it arrives, with the order's
status, `updated_at` (when the event happened), `ordered_at` and items (`unit_price` in the store's currency: the
product's USD list price converted at the seed's rate). 8% of delivered orders have one line partly refunded 1-10
days after delivery. Volume: `scale=1.0` is 300 customers on day 0 (+3% sign-ups, 4% updates a day) and about 400
orders a day; the files of a day depend only on (seed, scale, rates, day).

Dirt (`OrderDirtRates`; the manifest counts every kind exactly, per file):
- `duplicate` exact repeats of lines and `malformed` truncated lines in every file, `unknown_field` lines carrying a
  key no schema declares (`coupon_code`);
- `late_event`: an order event after `placed` arriving in the next day's file (events: `late_event`);
- `negative_quantity`: orders with one line of negative quantity, counted (as lines) in the file of the order's
  `placed` event, though every event of the order repeats the line;
- `missing_customer_id`: orders whose every event lacks a customer id, counted (as orders) likewise;
- `missing_email` / `missing_country`: customers who never gave one, counted per record in the customers files.
Events per file: orders by status (`placed` ... `cancelled`, each distinct event once), `late_event`; customers
`new` and `update`; refunds `refunds`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields

from generator.batches import Batch
from generator.clock import day_label, day_of, day_of_label, iso
from generator.dirt import check_rates, dirt_count, python_rng
from generator.files import RenderedFile, scattered, text_file, with_malformed
from generator.manifest import BatchManifest, FileEntry, Manifest
from generator.orders.catalog import SEEDS, load_catalog
from generator.orders.world import Customer, Order, OrdersWorld, Refund

MANIFEST_FOLDER = "_manifest/orders"
UNKNOWN_FIELD = "coupon_code"
_MANIFEST_NAME = re.compile(r"(?:^|/)_manifest/orders/day=(\d{4}-\d{2}-\d{2})\.json$")


@dataclass(frozen=True)
class OrderDirtRates:
    duplicate: float = 0.02
    """Every file: exact duplicate lines, as a share of its lines."""
    malformed: float = 0.0001
    """Every file: truncated JSON lines ..."""
    malformed_min: int = 2
    """... and at least this many per file with a record while `malformed` is positive."""
    unknown_field: float = 0.01
    """Every file: lines with an extra `coupon_code` key (rescued into `_rescued_data`)."""
    late_event: float = 0.03
    """orders: share of events after `placed` delivered in the next day's file."""
    negative_quantity: float = 0.005
    """orders: share of a day's orders with one line of negative quantity."""
    missing_customer_id: float = 0.005
    """orders: share of a day's orders without a customer id."""
    missing_email: float = 0.05
    """customers: share of customers without an email."""
    missing_country: float = 0.03
    """customers: share of customers without a country."""

    def __post_init__(self) -> None:
        check_rates(self)

    @classmethod
    def clean(cls) -> OrderDirtRates:
        """No dirt at all: every rate 0."""
        return cls(**{rate.name: 0 for rate in fields(cls)})

    def to_dict(self, *, sub_day: bool = True) -> dict[str, float]:
        return {rate.name: getattr(self, rate.name) for rate in fields(self)}


def generate(
    write: Callable[[str, bytes], None],
    *,
    days: range,
    seed: int = 42,
    scale: float = 1.0,
    rates: OrderDirtRates | None = None,
) -> Manifest:
    """Write the landing files of `days` (e.g. `range(7)`, or `range(3, 4)` for day 3 alone) through `write`, each
    day's files and then its manifest; returns the manifests with exact per-file counts."""
    rates = OrderDirtRates() if rates is None else rates
    if not isinstance(days, range) or (len(days) and (days.step < 1 or days.start < 0)):
        raise ValueError(f"days must be an ascending range of day numbers >= 0, not {days!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    world = OrdersWorld(seed, scale, load_catalog(SEEDS), rates)
    written = []
    for day in days:
        files = [_customers_file(world, day), _orders_file(world, day), _refunds_file(world, day)]
        for file in files:
            write(file.path, file.data)
        manifest = BatchManifest(Batch(day), seed, scale, rates, tuple(map(FileEntry.of, files)), MANIFEST_FOLDER)
        write(manifest.path, manifest.to_json())
        written.append(manifest)
    return Manifest(seed, scale, rates, tuple(written))


def landed_days(paths: Iterable[str]) -> list[int]:
    """Days whose manifest is among `paths` (listed under the landing root), in order."""
    return sorted({day for path in paths if (day := manifest_day(path)) is not None})


def manifest_day(path: str) -> int | None:
    """The day an orders manifest path names, or None for any other path."""
    match = _MANIFEST_NAME.search(path)
    return day_of_label(match.group(1)) if match else None


def _customers_file(world: OrdersWorld, day: int) -> RenderedFile:
    records = world.customers(day)
    dirt = {
        "missing_email": sum(record.email is None for record in records),
        "missing_country": sum(record.country is None for record in records),
    }
    events = Counter(record.kind for record in records)
    return _file(world, day, "customers", [_customer_line(record) for record in records], dirt, dict(events))


def _orders_file(world: OrdersWorld, day: int) -> RenderedFile:
    arriving = world.events_arriving(day)
    placed = [order for order, status, _ in arriving if status == "placed"]
    dirt = {
        "negative_quantity": sum(line.quantity < 0 for order in placed for line in order.lines),
        "missing_customer_id": sum(order.customer_id is None for order in placed),
    }
    events = Counter(status for _, status, _ in arriving)
    events["late_event"] = sum(day_of(at) < day for _, _, at in arriving)
    lines = [_order_line(order, status, at) for order, status, at in arriving]
    return _file(world, day, "orders", lines, dirt, dict(events))


def _refunds_file(world: OrdersWorld, day: int) -> RenderedFile:
    refunds = world.refunds_arriving(day)
    return _file(world, day, "refunds", [_refund_line(refund) for refund in refunds], {}, {"refunds": len(refunds)})


def _file(world: OrdersWorld, day: int, source: str, lines: list[str], dirt: dict, events: dict) -> RenderedFile:
    """The day's file of `source`: its lines with unknown fields, duplicates and truncated lines added."""
    rates = world.rates
    rng = python_rng(world.seed, f"orders.{source}.dirt", day)
    for index in rng.sample(range(len(lines)), dirt_count(rates.unknown_field, len(lines))):
        lines[index] = lines[index][:-1] + f', "{UNKNOWN_FIELD}": "{rng.choice(("WINTER10", "FREESHIP"))}"}}'
    copies = [rng.choice(lines) for _ in range(dirt_count(rates.duplicate, len(lines)))]
    lines = scattered(lines, copies, rng)
    dirt = {"duplicate": len(copies), "unknown_field": sum(f'"{UNKNOWN_FIELD}"' in line for line in lines), **dirt}
    lines, malformed = with_malformed(lines, rng, rates)
    return RenderedFile(
        source=source,
        path=f"{source}/day={day_label(day)}/{source}.json",
        data=text_file(lines),
        records=len(lines),
        malformed=malformed,
        dirt=dirt,
        events={name: count for name, count in events.items() if count},
    )


def _customer_line(record: Customer) -> str:
    return json.dumps(
        {
            "customer_id": record.customer_id,
            "email": record.email,
            "first_name": record.first_name,
            "last_name": record.last_name,
            "country": record.country,
            "signed_up_at": iso(record.signed_up_at),
            "updated_at": iso(record.updated_at),
        }
    )


def _order_line(order: Order, status: str, at: int) -> str:
    return json.dumps(
        {
            "order_id": order.order_id,
            "customer_id": order.customer_id,
            "store_id": order.store_id,
            "status": status,
            "currency": order.currency,
            "ordered_at": iso(order.ordered_at),
            "updated_at": iso(at),
            "items": [
                {
                    "line_no": line.line_no,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price_cents / 100,
                }
                for line in order.lines
            ],
        }
    )


def _refund_line(refund: Refund) -> str:
    return json.dumps(
        {
            "refund_id": refund.refund_id,
            "order_id": refund.order_id,
            "line_no": refund.line_no,
            "quantity": refund.quantity,
            "amount": refund.amount_cents / 100,
            "currency": refund.currency,
            "refunded_at": iso(refund.refunded_at),
            "reason": refund.reason,
        }
    )
