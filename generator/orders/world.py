"""The simulated shop: customers who sign up and change their details, and orders that go through their lifecycle.

Every record carries the instant it happened and the instant it *arrives* (the day whose file holds it). Customers
are simulated day by day (a day's new customers and updates depend on the days before); an order is simulated
whole on the day it is placed, with every later event (payment, shipping, delivery or cancellation, refund), so a
day's file gathers the events of orders placed up to `HORIZON_DAYS` earlier. Every stream is named by
(seed, kind, day): the files of a day never depend on which other days are generated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from generator.clock import SECONDS_PER_DAY, day_of, day_start
from generator.dirt import dirt_count, python_rng
from generator.orders.catalog import Catalog

DAY0_CUSTOMERS = 300
ORDERS_PER_DAY = 400
NEW_CUSTOMERS = 0.03
"""Share of the customer base signing up each day after day 0."""
CUSTOMER_UPDATES = 0.04
"""Share of the customer base changing their email, country or last name each day after day 0."""
CANCELLED = 0.05
"""Share of paid orders cancelled before shipping."""
REFUNDED = 0.08
"""Share of delivered orders with one line refunded 1-10 days after delivery."""
HORIZON_DAYS = 18
"""The latest an order's event arrives after the day it was placed: shipping 1-2 days, delivery 1-3 days later, a
refund up to 10 days after that, a late event one day more."""

FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dan", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jon", "Kate", "Leo")
LAST_NAMES = ("Adams", "Baker", "Clark", "Dubois", "Evans", "Fischer", "Garcia", "Hill", "Ito", "Jones", "Klein")
DOMAINS = ("example.com", "mail.example.org", "shop.example.net")
REASONS = ("damaged", "wrong size", "not as described", "changed mind")


@dataclass(frozen=True)
class Customer:
    customer_id: int
    first_name: str
    last_name: str
    email: str | None
    """None for customers who never gave one (`missing_email`)."""
    country: str | None
    """None for customers who never gave one (`missing_country`)."""
    signed_up_at: int
    updated_at: int
    kind: str
    """`new` (sign-up; day 0's whole base) or `update`."""


@dataclass(frozen=True)
class Line:
    line_no: int
    product_id: int
    quantity: int
    """Negative on a `negative_quantity` line."""
    unit_price_cents: int


@dataclass(frozen=True)
class Order:
    order_id: int
    customer_id: int | None
    """None on a `missing_customer_id` order, in every event."""
    store_id: int
    currency: str
    ordered_at: int
    lines: tuple[Line, ...]
    events: tuple[tuple[str, int, int], ...]
    """(status, updated_at, arrival), in the order they happen."""
    refund: Refund | None


@dataclass(frozen=True)
class Refund:
    refund_id: int
    order_id: int
    line_no: int
    quantity: int
    amount_cents: int
    currency: str
    refunded_at: int
    reason: str


class OrdersWorld:
    """The shop of one `generate` call: every day it simulates is kept for the rest of the call."""

    def __init__(self, seed: int, scale: float, catalog: Catalog, rates) -> None:
        self.seed, self.scale, self.catalog, self.rates = seed, scale, catalog, rates
        self._customers: dict[int, tuple[Customer, ...]] = {}
        self._latest: dict[int, dict[int, Customer]] = {}
        self._orders: dict[int, tuple[Order, ...]] = {}

    def customers(self, day: int) -> tuple[Customer, ...]:
        """The customer records of `day` (sign-ups and updates) in the order they happened."""
        if day not in self._customers:
            self._customers[day] = self._simulate_customers(day)
        return self._customers[day]

    def _simulate_customers(self, day: int) -> tuple[Customer, ...]:
        """The customer records of `day` (sign-ups and updates) in the order they happened."""
        rng = python_rng(self.seed, "orders.customers", day)
        start = day_start(day)
        if day == 0:
            count = max(1, round(DAY0_CUSTOMERS * self.scale))
            records = [
                self._signed_up(rng, number, start - rng.randint(1, 365) * SECONDS_PER_DAY)
                for number in range(1, count + 1)
            ]
            # Day 0's extract: each customer's record as it stood on day 0, stamped when it was exported.
            records = [replace(record, updated_at=start + rng.randrange(SECONDS_PER_DAY)) for record in records]
        else:
            base = self.customer_count(day - 1)
            latest = self.latest_customers(day - 1)
            records = [
                self._signed_up(rng, base + number, start + rng.randrange(SECONDS_PER_DAY))
                for number in range(1, max(1, round(NEW_CUSTOMERS * base)) + 1)
            ]
            for customer_id in sorted(rng.sample(range(1, base + 1), min(base, round(CUSTOMER_UPDATES * base)))):
                records.append(_updated(latest[customer_id], rng, start + rng.randrange(SECONDS_PER_DAY), self))
        return tuple(sorted(records, key=lambda record: (record.updated_at, record.customer_id)))

    def latest_customers(self, day: int) -> dict[int, Customer]:
        """Every customer's latest record at the end of `day`."""
        for known in range(day + 1):
            if known not in self._latest:
                latest = dict(self._latest[known - 1]) if known else {}
                latest.update((record.customer_id, record) for record in self.customers(known))
                self._latest[known] = latest
        return self._latest[day]

    def customer_count(self, day: int) -> int:
        return len(self.latest_customers(day))

    def _signed_up(self, rng: random.Random, customer_id: int, signed_up_at: int) -> Customer:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}{customer_id}@{rng.choice(DOMAINS)}".lower()
        country = rng.choice(self.catalog.stores).country
        return Customer(
            customer_id,
            first,
            last,
            None if rng.random() < self.rates.missing_email else email,
            None if rng.random() < self.rates.missing_country else country,
            signed_up_at,
            signed_up_at,
            "new",
        )

    def orders(self, day: int) -> tuple[Order, ...]:
        """The orders placed on `day`, each with its whole future, in the order they were placed."""
        if day not in self._orders:
            self._orders[day] = self._simulate_orders(day)
        return self._orders[day]

    def _simulate_orders(self, day: int) -> tuple[Order, ...]:
        rng = python_rng(self.seed, "orders.orders", day)
        count = max(1, round(ORDERS_PER_DAY * self.scale * rng.uniform(0.9, 1.1)))
        customers = self.customer_count(day - 1) if day else self.customer_count(0)
        missing = dirt_count(self.rates.missing_customer_id, count)
        dirty = rng.sample(range(count), min(count, missing + dirt_count(self.rates.negative_quantity, count)))
        no_customer, negative = set(dirty[:missing]), set(dirty[missing:])
        placed = sorted(day_start(day) + rng.randrange(SECONDS_PER_DAY - 7200) for _ in range(count))
        return tuple(
            self._order(
                rng, day, number, placed[number], rng.randint(1, customers), number in no_customer, number in negative
            )
            for number in range(count)
        )

    def _order(
        self,
        rng: random.Random,
        day: int,
        number: int,
        placed_at: int,
        customer_id: int,
        no_customer: bool,
        negative: bool,
    ) -> Order:
        order_id = (day + 1) * 1_000_000 + number
        store = rng.choice(self.catalog.stores)
        lines = []
        for line_no in range(1, rng.randint(1, 5) + 1):
            product = rng.choice(self.catalog.products)
            lines.append(
                Line(line_no, product.product_id, rng.randint(1, 3), self.catalog.price_cents(product, store.currency))
            )
        if negative:
            index = rng.randrange(len(lines))
            lines[index] = replace(lines[index], quantity=-lines[index].quantity)
        paid_at = placed_at + rng.randint(60, 1800)
        happened = [("placed", placed_at), ("paid", paid_at)]
        if rng.random() < CANCELLED:
            happened.append(("cancelled", paid_at + rng.randint(3600, 12 * 3600)))
        else:
            shipped_at = paid_at + rng.randint(1, 2) * SECONDS_PER_DAY + rng.randint(0, 8 * 3600)
            happened += [
                ("shipped", shipped_at),
                ("delivered", shipped_at + rng.randint(1, 3) * SECONDS_PER_DAY + rng.randint(0, 8 * 3600)),
            ]
        events = tuple(
            (status, at, at + SECONDS_PER_DAY if status != "placed" and rng.random() < self.rates.late_event else at)
            for status, at in happened
        )
        refund = None
        if happened[-1][0] == "delivered" and not (no_customer or negative) and rng.random() < REFUNDED:
            line = rng.choice(lines)
            quantity = rng.randint(1, line.quantity)
            refund = Refund(
                order_id * 10 + 1,
                order_id,
                line.line_no,
                quantity,
                quantity * line.unit_price_cents,
                store.currency,
                happened[-1][1] + rng.randint(1, 10) * SECONDS_PER_DAY + rng.randrange(SECONDS_PER_DAY // 2),
                rng.choice(REASONS),
            )
        return Order(
            order_id,
            None if no_customer else customer_id,
            store.store_id,
            store.currency,
            placed_at,
            tuple(lines),
            events,
            refund,
        )

    def events_arriving(self, day: int) -> list[tuple[Order, str, int]]:
        """(order, status, updated_at) of every order event arriving on `day`, in arrival order."""
        arriving = [
            (arrival, order.order_id, index, order, status, at)
            for placed in range(max(0, day - HORIZON_DAYS), day + 1)
            for order in self.orders(placed)
            for index, (status, at, arrival) in enumerate(order.events)
            if day_of(arrival) == day
        ]
        return [(order, status, at) for *_, order, status, at in sorted(arriving, key=lambda item: item[:3])]

    def refunds_arriving(self, day: int) -> list[Refund]:
        """Refunds made on `day` (they arrive when made), in time order."""
        refunds = [
            order.refund
            for placed in range(max(0, day - HORIZON_DAYS), day + 1)
            for order in self.orders(placed)
            if order.refund is not None and day_of(order.refund.refunded_at) == day
        ]
        return sorted(refunds, key=lambda refund: (refund.refunded_at, refund.refund_id))


def _updated(customer: Customer, rng: random.Random, updated_at: int, world: OrdersWorld) -> Customer:
    """The customer after a change of email, country or last name (a missing field stays missing)."""
    change = rng.choice(("email", "country", "last_name"))
    email, country, last = customer.email, customer.country, customer.last_name
    if change == "email" and email is not None:
        email = f"{customer.first_name}.{last}{customer.customer_id}@{rng.choice(DOMAINS)}".lower()
    elif change == "country" and country is not None:
        country = rng.choice(world.catalog.stores).country
    else:
        last = rng.choice(LAST_NAMES)
    return replace(customer, last_name=last, email=email, country=country, updated_at=updated_at, kind="update")
