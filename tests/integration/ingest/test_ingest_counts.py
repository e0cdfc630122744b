"""order-ingest keeps the tab counts read model (`order_counts`, docs/decisions/0082) equal to
what counting the orders says: after snapshots, after status changes alone, and when either is
delivered again."""

from __future__ import annotations

from typing import Any

import pytest
from ing_support import END, Doc
from pymongo.asynchronous.database import AsyncDatabase

from orderlens import counts_store
from orderlens.consumer import Received
from orderlens.events import CloudEvent, encode
from orderlens.indexes import ensure_indexes
from orderlens_devtools.seed import SeedConfig, created_event, iter_orders, status_events
from orderlens_ingest.adapters.mongo_store import OrderStore
from orderlens_ingest.service import Ingest


def _received(events: list[CloudEvent[Any]]) -> list[Received]:
    return [Received(e, "t", 0, i, e.subject.encode(), encode(e)) for i, e in enumerate(events)]


async def test_counts_follow_snapshots_and_status_changes_exactly_under_redelivery(
    mongo_db: AsyncDatabase[Doc],
) -> None:
    await ensure_indexes(mongo_db)
    orders = [
        o for o in iter_orders(SeedConfig(orders=30, shops=2, days=5, seed=5, end=END)) if o.steps
    ]
    shops = {o.shop_id for o in orders}
    ingest = Ingest(OrderStore(mongo_db))

    async def exact() -> dict[str, Any]:
        kept = await counts_store.read_each(mongo_db, shops)
        assert kept == await counts_store.count_orders(mongo_db, shops)
        return kept

    created = _received([created_event(o) for o in orders])
    await ingest.on_batch(created, [])
    after_snapshots = await exact()
    assert sum(sum(c["by_status"].values()) for c in after_snapshots.values()) == len(orders)

    # Status changes alone, in a batch of their own, move orders between the counts.
    changes = _received([e for o in orders for e in status_events(o)])
    await ingest.on_batch([], changes)
    after_changes = await exact()
    assert after_changes != after_snapshots

    # Redelivered, both change nothing.
    await ingest.on_batch(created, changes)
    assert await exact() == after_changes


async def test_counts_repaired_at_start_up_after_a_crash_between_order_write_and_count(
    mongo_db: AsyncDatabase[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counts follow deltas (docs/decisions/0135): a crash after the orders were written but
    before their moves were added leaves the shop announced, and start-up recounts it."""
    await ensure_indexes(mongo_db)
    orders = [
        o for o in iter_orders(SeedConfig(orders=20, shops=2, days=5, seed=9, end=END)) if o.steps
    ]
    shops = {o.shop_id for o in orders}
    await Ingest(OrderStore(mongo_db)).repair()  # a running service: counts built once
    await Ingest(OrderStore(mongo_db)).on_batch(_received([created_event(o) for o in orders]), [])
    changes = _received([e for o in orders for e in status_events(o)])

    async def crash(*args: object) -> None:
        raise RuntimeError("killed before the counts were written")

    with monkeypatch.context() as patch:
        patch.setattr(counts_store, "apply", crash)
        with pytest.raises(RuntimeError):
            await Ingest(OrderStore(mongo_db)).on_batch([], changes)
    # Redelivered after the crash, the changes move no order, so they add nothing ...
    await Ingest(OrderStore(mongo_db)).on_batch([], changes)
    truth = await counts_store.count_orders(mongo_db, shops)
    assert await counts_store.read_each(mongo_db, shops) != truth
    # ... and the restarted service recounts the announced shops.
    await Ingest(OrderStore(mongo_db)).repair()
    assert await counts_store.read_each(mongo_db, shops) == truth
    assert await mongo_db[counts_store.COLLECTION].count_documents({"pending": {"$gt": 0}}) == 0
