"""order-ingest keeps the sales buckets by the deltas of its guarded order writes
(docs/decisions/0141): what a recomputation from the orders says, under redelivery, after a crash
between the order write and the bucket update, and with two replicas writing the same orders at
once (the version guard lets one win; the other's write moved nothing and adds nothing)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ing_support import END, Doc, bucket_figures, buckets_exact
from pymongo.asynchronous.database import AsyncDatabase

from orderlens import counts_store, sales_store
from orderlens.capabilities import ServerCapabilities
from orderlens.consumer import Received
from orderlens.domain.order import Order
from orderlens.events import CloudEvent, encode
from orderlens.indexes import ensure_indexes
from orderlens_devtools.seed import SeedConfig, created_event, iter_orders, status_events
from orderlens_ingest.adapters.mongo_store import OrderStore
from orderlens_ingest.domain.orders import same_content
from orderlens_ingest.service import Ingest


def _received(events: list[CloudEvent[Any]]) -> list[Received]:
    return [Received(e, "t", 0, i, e.subject.encode(), encode(e)) for i, e in enumerate(events)]


def _orders(n: int, seed: int) -> list[Any]:
    config = SeedConfig(orders=n, shops=2, days=3, seed=seed, end=END)
    return [o for o in iter_orders(config) if o.steps]


async def test_buckets_follow_snapshots_and_status_changes_exactly_under_redelivery(
    mongo_db: AsyncDatabase[Doc],
) -> None:
    await ensure_indexes(mongo_db)
    orders = _orders(40, seed=3)
    ingest = Ingest(OrderStore(mongo_db))
    created = _received([created_event(o) for o in orders])
    finals = _received([created_event(o, final=True) for o in orders])
    changes = _received([e for o in orders for e in status_events(o)])

    await ingest.on_batch(created, [])
    after_snapshots = await bucket_figures(mongo_db)
    await buckets_exact(mongo_db)
    await ingest.on_batch([], changes)
    await buckets_exact(mongo_db)
    # The final snapshots carry the orders' last states, cancellations (and their totals) too.
    await ingest.on_batch(finals, [])
    await buckets_exact(mongo_db)
    after_all = await bucket_figures(mongo_db)
    assert after_all != after_snapshots
    assert sum(b["cancelled"] for b in after_all.values()) > 0

    await ingest.on_batch(created + finals, changes)
    assert await bucket_figures(mongo_db) == after_all
    await buckets_exact(mongo_db)
    assert await mongo_db.sales_buckets.count_documents({"pending": {"$ne": 0}}) == 0


async def test_a_rebuild_in_many_chunks_equals_the_buckets_kept_by_ingest(
    mongo_db: AsyncDatabase[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    await ensure_indexes(mongo_db)
    orders = _orders(40, seed=5)
    ingest = Ingest(OrderStore(mongo_db))
    await ingest.on_batch(
        _received([created_event(o) for o in orders]),
        _received([e for o in orders for e in status_events(o)]),
    )
    kept = await bucket_figures(mongo_db)
    assert len(kept) > 9  # several chunks of 3 below
    monkeypatch.setattr(sales_store, "RECOMPUTE_CHUNK", 3)
    await buckets_exact(mongo_db)  # deletes the buckets, rebuilds them all, compares
    assert await bucket_figures(mongo_db) == kept


async def test_buckets_repaired_at_start_up_after_a_crash_between_order_write_and_bucket(
    mongo_db: AsyncDatabase[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    await ensure_indexes(mongo_db)
    orders = _orders(30, seed=11)
    await Ingest(OrderStore(mongo_db)).on_batch(_received([created_event(o) for o in orders]), [])
    finals = _received([created_event(o, final=True) for o in orders])

    apply = sales_store.apply

    async def crash(db: Any, keys: Any, moved: dict[Any, Any]) -> None:
        if moved:  # the snapshots' first round writes nothing (every order exists already)
            raise RuntimeError("killed before the buckets were written")
        await apply(db, keys, moved)

    with monkeypatch.context() as patch:
        patch.setattr(sales_store, "apply", crash)
        with pytest.raises(RuntimeError):
            await Ingest(OrderStore(mongo_db)).on_batch(finals, [])
    # Redelivered after the crash, the snapshots change no order, so they add nothing ...
    await Ingest(OrderStore(mongo_db)).on_batch(finals, [])
    assert await mongo_db.sales_buckets.count_documents({"pending": {"$gt": 0}}) > 0
    stale = await bucket_figures(mongo_db)
    # ... and the restarted service recomputes the announced buckets.
    await Ingest(OrderStore(mongo_db)).repair()
    await buckets_exact(mongo_db)
    assert await bucket_figures(mongo_db) != stale
    assert await mongo_db.sales_buckets.count_documents({"pending": {"$ne": 0}}) == 0


async def test_two_replicas_writing_the_same_orders_at_once_apply_each_change_once(
    mongo_db: AsyncDatabase[Doc],
) -> None:
    """Two replicas handed the same batches at once (a consumer left over from a rebalance):
    the guarded writes, on the guard index where the server needs it (0140), elect one writer
    per version, so the documents and both read models are those of one delivery."""
    await ensure_indexes(mongo_db, await ServerCapabilities.read(mongo_db))
    orders = _orders(60, seed=17)
    created = _received([created_event(o) for o in orders])
    changes = _received([e for o in orders for e in status_events(o)])
    finals = _received([created_event(o, final=True) for o in orders])
    replicas = [Ingest(OrderStore(mongo_db)), Ingest(OrderStore(mongo_db))]
    await replicas[0].repair()
    for batch in ((created, []), ([], changes), (finals, [])):
        await asyncio.gather(*(r.on_batch(*batch) for r in replicas))

    reference_db = mongo_db.client[f"{mongo_db.name}_ref"]
    try:
        await ensure_indexes(reference_db)
        reference = Ingest(OrderStore(reference_db))
        await reference.repair()
        for batch in ((created, []), ([], changes), (finals, [])):
            await reference.on_batch(*batch)
        want = {str(d["_id"]): Order.from_document(d) async for d in reference_db.orders.find()}
        got = {str(d["_id"]): Order.from_document(d) async for d in mongo_db.orders.find()}
        assert sorted(got) == sorted(want)
        for order_id, order in want.items():
            assert same_content(got[order_id], order), order_id
        assert await bucket_figures(mongo_db) == await bucket_figures(reference_db)
        shops = {o.shop_id for o in orders}
        kept = await counts_store.read_each(mongo_db, shops)
        assert kept == await counts_store.count_orders(mongo_db, shops)
        await buckets_exact(mongo_db)
    finally:
        await mongo_db.client.drop_database(f"{mongo_db.name}_ref")
