"""Stores, products and currencies, read from the dbt seeds: the one place their ids, prices and rates are defined."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Store:
    store_id: int
    country: str
    currency: str


@dataclass(frozen=True)
class Product:
    product_id: int
    list_price_usd: Decimal


@dataclass(frozen=True)
class Catalog:
    stores: tuple[Store, ...]
    products: tuple[Product, ...]
    usd_per_unit: dict[str, Decimal]

    def price_cents(self, product: Product, currency: str) -> int:
        """The product's unit price in `currency`, in cents: its USD list price converted and rounded half up."""
        return int((product.list_price_usd / self.usd_per_unit[currency]).quantize(CENT, ROUND_HALF_UP) * 100)


def load_catalog(seeds: Path = SEEDS) -> Catalog:
    """Read and check `stores.csv`, `products.csv` and `currencies.csv` (every store's currency must have a rate)."""
    stores = tuple(
        Store(int(row["store_id"]), row["country"].strip(), row["currency"].strip())
        for row in _rows(seeds / "stores.csv", ("store_id", "country", "currency"))
    )
    products = tuple(
        Product(int(row["product_id"]), Decimal(row["list_price_usd"]))
        for row in _rows(seeds / "products.csv", ("product_id", "list_price_usd"))
    )
    rates = {
        row["currency"].strip(): Decimal(row["usd_per_unit"])
        for row in _rows(seeds / "currencies.csv", ("currency", "usd_per_unit"))
    }
    unknown = sorted({store.currency for store in stores} - set(rates))
    if unknown:
        raise ValueError(f"currencies seed lacks a rate for {unknown}")
    if not stores or not products:
        raise ValueError("the stores and products seeds must list at least one row each")
    return Catalog(stores, products, rates)


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in columns if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"seed {path.name} lacks column(s) {missing}")
        return list(reader)
