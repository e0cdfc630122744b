"""Helpers of the order-ingest unit tests: seed orders folded without any server."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from orderlens.domain.order import Order
from orderlens.events import CloudEvent, OrderCreated, StatusChanged
from orderlens_devtools.seed import SeedConfig, SeedOrder, created_event, iter_orders, status_events
from orderlens_ingest.domain.orders import StatusEvent, from_snapshot, with_status_events
from orderlens_ingest.domain.risk import RiskRules

END = datetime(2026, 11, 20, tzinfo=UTC)
SYNCED = datetime(2026, 11, 21, tzinfo=UTC)


def seed_orders(orders: int = 40, seed: int = 11) -> list[SeedOrder]:
    return list(iter_orders(SeedConfig(orders=orders, shops=3, days=20, seed=seed, end=END)))


def with_steps(minimum: int, orders: int = 200, seed: int = 11) -> SeedOrder:
    """A seed order with at least `minimum` status changes."""
    return next(o for o in seed_orders(orders, seed) if len(o.steps) >= minimum)


def ingest(created: CloudEvent[OrderCreated], events: Iterable[CloudEvent[StatusChanged]]) -> Order:
    """The order after its snapshot and then these status events, one at a time."""
    data = created.data
    order = from_snapshot(data.shop_id, data.order, None, RiskRules(), SYNCED)
    for event in events:
        order = with_status_events(order, [StatusEvent(event.id, event.data)])
    return order


def in_order(seed_order: SeedOrder) -> Order:
    return ingest(created_event(seed_order), status_events(seed_order))
