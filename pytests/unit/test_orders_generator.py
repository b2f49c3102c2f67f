"""The orders generator: deterministic day by day, a coherent shop, dirty at exactly the counts its manifest claims."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from generator import DOMAINS
from generator.orders import MANIFEST_FOLDER, OrderDirtRates, generate, landed_days
from generator.orders.catalog import SEEDS

DAYS = range(21)
STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled")


def capture(days: range, **options) -> tuple[dict[str, bytes], object]:
    files: dict[str, bytes] = {}
    manifest = generate(files.__setitem__, days=days, seed=11, **options)
    return files, manifest


@pytest.fixture(scope="module")
def landed():
    return capture(DAYS)


def parsed(data: bytes) -> tuple[list[dict], int]:
    """The JSON objects of a file and how many of its lines do not parse."""
    rows, broken = [], 0
    for line in data.decode().splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                broken += 1
    return rows, broken


def test_a_day_is_the_same_bytes_whichever_days_are_generated_with_it(landed):
    files, _ = landed
    alone, _ = capture(range(9, 10))
    assert alone and all(files[path] == data for path, data in alone.items())
    again, _ = capture(DAYS)
    assert again == files


def test_each_day_writes_its_three_files_then_its_manifest():
    order: list[str] = []
    generate(lambda path, data: order.append(path), days=range(2))
    assert order == [
        "customers/day=2026-01-05/customers.json",
        "orders/day=2026-01-05/orders.json",
        "refunds/day=2026-01-05/refunds.json",
        f"{MANIFEST_FOLDER}/day=2026-01-05.json",
        "customers/day=2026-01-06/customers.json",
        "orders/day=2026-01-06/orders.json",
        "refunds/day=2026-01-06/refunds.json",
        f"{MANIFEST_FOLDER}/day=2026-01-06.json",
    ]


def test_the_manifest_counts_every_record_and_every_kind_of_dirt_exactly(landed):
    files, manifest = landed
    assert [json.loads(files[batch.path]) for batch in manifest.batches] == [
        batch.to_dict() for batch in manifest.batches
    ]
    kinds = Counter()
    for entry in manifest.files():
        rows, broken = parsed(files[entry.path])
        lines = [line for line in files[entry.path].decode().splitlines() if line.strip()]
        assert (entry.records, entry.malformed) == (len(lines), broken)
        distinct = [json.loads(line) for line in dict.fromkeys(line for line in lines if _parses(line))]
        assert entry.dirt["duplicate"] == len(rows) - len(distinct)
        assert entry.dirt["unknown_field"] == sum("coupon_code" in row for row in rows)
        if entry.source == "orders":
            statuses = Counter(row["status"] for row in distinct)
            assert {status: entry.events.get(status, 0) for status in STATUSES} == {
                status: statuses[status] for status in STATUSES
            }
            placed = [row for row in distinct if row["status"] == "placed"]
            assert entry.dirt["missing_customer_id"] == sum(row["customer_id"] is None for row in placed)
            assert entry.dirt["negative_quantity"] == sum(
                item["quantity"] < 0 for row in placed for item in row["items"]
            )
            assert entry.events.get("late_event", 0) == sum(
                row["updated_at"][:10] < _date(entry.path) for row in distinct
            )
        elif entry.source == "customers":
            assert entry.dirt["missing_email"] == sum(row["email"] is None for row in distinct)
            assert entry.dirt["missing_country"] == sum(row["country"] is None for row in distinct)
            assert entry.events.get("new", 0) + entry.events.get("update", 0) == len(distinct)
        else:
            assert entry.events.get("refunds", 0) == len(distinct)
        kinds.update(kind for kind, count in entry.dirt.items() if count)
        kinds.update(kind for kind, count in entry.events.items() if count)
        kinds["malformed"] += bool(entry.malformed)
    # Three weeks exercise every kind of dirt and every event.
    assert set(kinds) >= {
        *STATUSES,
        "late_event",
        "refunds",
        "new",
        "update",
        "malformed",
        *OrderDirtRates().to_dict(),
    } - {"malformed_min"}


def test_orders_follow_their_lifecycle_at_the_seed_prices(landed):
    files, _ = landed
    stores = {int(row["store_id"]): row["currency"] for row in csv.DictReader((SEEDS / "stores.csv").open())}
    usd = {row["currency"]: Decimal(row["usd_per_unit"]) for row in csv.DictReader((SEEDS / "currencies.csv").open())}
    prices = {
        int(row["product_id"]): Decimal(row["list_price_usd"])
        for row in csv.DictReader((SEEDS / "products.csv").open())
    }
    events = defaultdict(dict)
    for path, data in files.items():
        if path.startswith("orders/"):
            for row in parsed(data)[0]:
                events[row["order_id"]][row["status"]] = row
    assert len(events) > 21 * 300
    for order_id, by_status in events.items():
        placed = by_status.get("placed")
        if placed is None:  # placed before day 0? never: every order is placed on a generated day
            pytest.fail(f"order {order_id} has events but was never placed")
        assert set(by_status) in (
            {"placed"},
            {"placed", "paid"},
            {"placed", "paid", "cancelled"},
            {"placed", "paid", "shipped"},
            {"placed", "paid", "shipped", "delivered"},
        )
        times = [
            by_status[status]["updated_at"] for status in STATUSES if status in by_status and status != "cancelled"
        ]
        assert times == sorted(times) and times[0] == placed["ordered_at"]
        for row in by_status.values():
            assert (row["customer_id"], row["store_id"], row["items"]) == (
                placed["customer_id"],
                placed["store_id"],
                placed["items"],
            )
            assert row["currency"] == stores[row["store_id"]]
        for item in placed["items"]:
            expected = (prices[item["product_id"]] / usd[placed["currency"]]).quantize(Decimal("0.01"))
            assert Decimal(str(item["unit_price"])) == expected
            assert item["quantity"] != 0 and abs(item["quantity"]) <= 3
        assert [item["line_no"] for item in placed["items"]] == list(range(1, len(placed["items"]) + 1))
    refunds = [row for path, data in files.items() if path.startswith("refunds/") for row in parsed(data)[0]]
    assert refunds
    for refund in refunds:
        order = events[refund["order_id"]]
        assert "delivered" in order and refund["refunded_at"] > order["delivered"]["updated_at"]
        item = order["placed"]["items"][refund["line_no"] - 1]
        assert 1 <= refund["quantity"] <= item["quantity"]
        assert Decimal(str(refund["amount"])) == refund["quantity"] * Decimal(str(item["unit_price"]))
        assert refund["currency"] == order["placed"]["currency"]


def test_customers_sign_up_once_and_update_known_ids(landed):
    files, _ = landed
    known: set[int] = set()
    for day in DAYS:
        rows = parsed(files[f"customers/day=2026-01-{5 + day:02d}/customers.json"])[0]
        new = {row["customer_id"] for row in rows if row["signed_up_at"] == row["updated_at"] or day == 0}
        assert not new & known
        updated = {row["customer_id"] for row in rows} - new
        assert updated <= known
        assert all(row["signed_up_at"] <= row["updated_at"] for row in rows)
        known |= new
    orders = {
        row["customer_id"] for path, data in files.items() if path.startswith("orders/") for row in parsed(data)[0]
    }
    assert orders - {None} <= known


def test_clean_rates_write_no_dirt():
    _, manifest = capture(range(8), rates=OrderDirtRates.clean())
    totals = manifest.totals()
    assert totals["malformed"] == 0 and not any(totals["dirt"].values())
    assert totals["events"]["refunds"] > 0


def test_landed_days_are_read_back_from_manifest_paths_only():
    paths = [
        "s3://bucket/landing/_manifest/orders/day=2026-01-06.json",
        "_manifest/orders/day=2026-01-05.json",
        "_manifest/day=2026-01-09.json",  # a fitness manifest
        "_manifest/orders/day=2025-12-31.json",  # before day 0
        "orders/day=2026-01-07/orders.json",
    ]
    assert landed_days(paths) == [0, 1]
    assert DOMAINS["fitness"].landed_days(paths) == [4]
    assert DOMAINS["orders"].landed_days is landed_days


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _date(path: str) -> str:
    return path.split("day=")[1][:10]
