"""The seed generator: deterministic, valid against the contract, varied like real shops."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from orderlens.events import decode, encode
from orderlens_devtools.seed import SeedConfig, iter_events, iter_orders

END = datetime(2026, 11, 20, tzinfo=UTC)


def test_same_seed_gives_identical_events() -> None:
    config = SeedConfig(orders=200, shops=3, days=10, seed=7, end=END)
    first = [encode(e) for e in iter_events(config)]
    assert first == [encode(e) for e in iter_events(config)]
    other = SeedConfig(orders=200, shops=3, days=10, seed=8, end=END)
    assert first != [encode(e) for e in iter_events(other)]


def test_every_event_validates_against_the_contract() -> None:
    config = SeedConfig(orders=300, shops=4, days=20, seed=3, end=END)
    for event in iter_events(config):
        assert decode(encode(event)) == event


def test_orders_are_varied() -> None:
    orders = list(iter_orders(SeedConfig(orders=1500, shops=6, days=30, seed=1, end=END)))
    statuses = Counter(o.final["status"] for o in orders)
    assert {"COMPLETED", "DELIVERED", "IN_TRANSIT", "CANCELLED", "AWAITING_SHIPMENT"} <= set(
        statuses
    )
    currencies = {o.initial["payment"]["currency"] for o in orders}
    assert {"USD", "GBP", "JPY", "EUR", "MXN", "MYR"} <= currencies
    assert any(o.initial["is_cod"] for o in orders)
    assert len({o.shop_id for o in orders}) == 6
    assert len({o.order_id for o in orders}) == 1500
    created = [o.initial["create_time"] for o in orders]
    assert END.timestamp() - 30 * 86400 <= min(created) <= max(created) <= END.timestamp()
