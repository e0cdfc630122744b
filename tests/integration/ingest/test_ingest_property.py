"""Idempotence through the real database (docs/contract.md §2): any interleaving of a set of
events, each delivered any number of times and in any batches, gives the documents (and the
sales and tab counts read models) of one in-order delivery.

The service layer is driven directly (no Kafka here: the broker's part, redelivery, is what the
shuffled, duplicated batches stand for). Each batch is handled as the service's consumer does:
its snapshots, then its status changes; one batch after the other (one consumer owns an order's
partitions; FerretDB 1.24 has no atomic compare-and-set, docs/decisions/0034)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ing_support import END, Doc
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from orderlens import counts_store, sales_store
from orderlens.consumer import Received
from orderlens.domain.order import Order
from orderlens.domain.sales import COLLECTION as SALES
from orderlens.events import CloudEvent, EventType, encode
from orderlens.indexes import ensure_indexes
from orderlens_devtools.seed import SeedConfig, created_event, iter_orders, status_events
from orderlens_ingest.adapters.mongo_store import OrderStore
from orderlens_ingest.domain.orders import BOOKKEEPING, same_content
from orderlens_ingest.service import Ingest


@pytest_asyncio.fixture
async def two_databases(
    mongo_client: AsyncMongoClient[Doc], mongo_db_name: str
) -> AsyncIterator[tuple[AsyncDatabase[Doc], AsyncDatabase[Doc]]]:
    reference, shuffled = mongo_client[mongo_db_name], mongo_client[f"{mongo_db_name}_b"]
    await ensure_indexes(reference)
    await ensure_indexes(shuffled)
    yield reference, shuffled
    await mongo_client.drop_database(f"{mongo_db_name}_b")


def _received(event: CloudEvent[Any], offset: int) -> Received:
    return Received(event, "t", 0, offset, event.subject.encode(), encode(event))


async def _deliver(ingest: Ingest, batch: list[CloudEvent[Any]]) -> None:
    created = [_received(e, i) for i, e in enumerate(batch) if e.type == EventType.ORDER_CREATED]
    changes = [_received(e, i) for i, e in enumerate(batch) if e.type != EventType.ORDER_CREATED]
    await ingest.on_batch(created, changes)


def _diff(actual: Order, expected: Order) -> str:
    """The differing fields (list items field by field), for a readable failure."""
    left, right = actual.model_dump(), expected.model_dump()
    found = []
    for key in left:
        a, b = left[key], right[key]
        if key in BOOKKEEPING or a == b:
            continue
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                if x != y and isinstance(x, dict) and isinstance(y, dict):
                    fields = {k: (x.get(k), y.get(k)) for k in x if x.get(k) != y.get(k)}
                    found.append(f"{key}[{index}]: {fields}")
        else:
            found.append(f"{key}: {a!r} != {b!r}")
    return "; ".join(found)


async def _orders(db: AsyncDatabase[Doc], ids: list[str]) -> dict[str, Order]:
    return {
        str(d["_id"]): Order.from_document(d) async for d in db.orders.find({"_id": {"$in": ids}})
    }


async def _buckets(db: AsyncDatabase[Doc], shops: set[str]) -> dict[str, dict[str, int]]:
    return {
        str(d["_id"]): sales_store.figures_of(d)
        async for d in db[SALES].find({"shop_id": {"$in": sorted(shops)}})
        if d.get("orders")
    }


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_shuffled_duplicated_batches_equal_one_in_order_delivery(
    two_databases: tuple[AsyncDatabase[Doc], AsyncDatabase[Doc]], data: st.DataObject
) -> None:
    reference_db, shuffled_db = two_databases
    config = SeedConfig(
        orders=2, shops=1, days=5, seed=data.draw(st.integers(0, 10**6), label="seed"), end=END
    )
    orders = list(iter_orders(config))
    with_final = data.draw(st.booleans(), label="newer snapshot too")
    events: list[CloudEvent[Any]] = []
    for seed_order in orders:
        events.append(created_event(seed_order))
        if with_final and seed_order.steps:
            events.append(created_event(seed_order, final=True))
        events.extend(status_events(seed_order))

    # One in-order delivery: each event alone, in the order the seed generator sends them.
    reference = Ingest(OrderStore(reference_db))
    for event in events:
        await _deliver(reference, [event])

    # Any order, duplicates, arbitrary batches, both consumers at once.
    extra = data.draw(st.lists(st.sampled_from(events), max_size=len(events)), label="dupes")
    delivered = data.draw(st.permutations(events + extra), label="order")
    cuts = sorted(data.draw(st.sets(st.integers(1, max(len(delivered) - 1, 1)), max_size=5)))
    shuffled = Ingest(OrderStore(shuffled_db))
    start = 0
    for cut in [*cuts, len(delivered)]:
        if delivered[start:cut]:
            await _deliver(shuffled, delivered[start:cut])
        start = cut

    ids = [o.order_id for o in orders]
    expected, actual = await _orders(reference_db, ids), await _orders(shuffled_db, ids)
    assert sorted(actual) == sorted(expected) == sorted(ids)
    for order_id in ids:
        assert same_content(actual[order_id], expected[order_id]), _diff(
            actual[order_id], expected[order_id]
        )
    shops = {o.shop_id for o in orders}
    assert await _buckets(shuffled_db, shops) == await _buckets(reference_db, shops)
    # The tab counts read model (0082): exact, i.e. what counting the orders says.
    kept = await counts_store.read_each(shuffled_db, shops)
    assert kept == await counts_store.count_orders(shuffled_db, shops)
    assert kept == await counts_store.count_orders(reference_db, shops)
    assert await shuffled_db.parked_status_events.count_documents({"order_id": {"$in": ids}}) == 0
