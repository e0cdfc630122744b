"""One batch holding snapshots and the status changes of the same orders (docs/decisions/0037):
the status side folds into the documents the snapshot side stored, without reading them again,
and must still see what the snapshot side changed on other orders (shared-address flags)."""

from __future__ import annotations

from typing import Any

from ing_support import Doc, seed
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from orderlens import sales_store
from orderlens.consumer import Received
from orderlens.domain.order import Order
from orderlens.domain.sales import COLLECTION as SALES
from orderlens.events import CloudEvent, EventType, encode
from orderlens.indexes import ensure_indexes
from orderlens_devtools.seed import created_event, status_events
from orderlens_ingest.adapters.mongo_store import OrderStore
from orderlens_ingest.domain.orders import same_content
from orderlens_ingest.domain.risk import SHARED_ADDRESS
from orderlens_ingest.service import Ingest


def _received(event: CloudEvent[Any], offset: int) -> Received:
    return Received(event, "t", 0, offset, event.subject.encode(), encode(event))


def _same_address_events() -> list[CloudEvent[Any]]:
    """Three orders of three buyers shipped to one address within an hour, each with its
    status changes."""
    orders = [o for o in seed(12, seed=5) if o.steps][:3]
    first = created_event(orders[0]).data.order
    events: list[CloudEvent[Any]] = []
    for index, seed_order in enumerate(orders):
        event = created_event(seed_order)
        snapshot = event.data.order.model_copy(
            update={
                "recipient_address": first.recipient_address,
                "create_time": first.create_time + 600 * index,
                "user_id": f"buyer-{index}",
            }
        )
        data = event.data.model_copy(update={"order": snapshot})
        events.append(event.model_copy(update={"data": data}))
    return events + [e for o in orders for e in status_events(o)]


async def _deliver(ingest: Ingest, events: list[CloudEvent[Any]]) -> None:
    created = [_received(e, i) for i, e in enumerate(events) if e.type == EventType.ORDER_CREATED]
    changes = [_received(e, i) for i, e in enumerate(events) if e.type != EventType.ORDER_CREATED]
    await ingest.on_batch(created, changes)


async def _stored(db: AsyncDatabase[Doc]) -> dict[str, Order]:
    return {str(d["_id"]): Order.from_document(d) async for d in db.orders.find({})}


async def _buckets(db: AsyncDatabase[Doc]) -> dict[str, dict[str, int]]:
    return {str(d["_id"]): sales_store.figures_of(d) async for d in db[SALES].find({})}


async def test_one_batch_of_snapshots_and_their_changes_equals_one_event_per_batch(
    mongo_client: AsyncMongoClient[Doc], mongo_db_name: str
) -> None:
    reference_db, batch_db = mongo_client[mongo_db_name], mongo_client[f"{mongo_db_name}_b"]
    try:
        for db in (reference_db, batch_db):
            await ensure_indexes(db)
        events = _same_address_events()
        assert any(e.type == EventType.STATUS_CHANGED for e in events)

        reference = Ingest(OrderStore(reference_db, compare_and_set=False))
        for event in events:
            await _deliver(reference, [event])
        await _deliver(Ingest(OrderStore(batch_db, compare_and_set=False)), events)

        expected, actual = await _stored(reference_db), await _stored(batch_db)
        assert sorted(actual) == sorted(expected)
        assert len(actual) == 3
        for order_id, order in expected.items():
            assert SHARED_ADDRESS in order.risk, order_id
            assert same_content(actual[order_id], order), order_id
        assert await _buckets(batch_db) == await _buckets(reference_db)
        assert await batch_db.sales_buckets.count_documents({"pending": {"$ne": 0}}) == 0
    finally:
        await mongo_client.drop_database(f"{mongo_db_name}_b")


async def test_loading_many_orders_at_once_reads_what_point_reads_read(
    mongo_client: AsyncMongoClient[Doc], mongo_db_name: str
) -> None:
    db = mongo_client[mongo_db_name]
    await ensure_indexes(db)
    ingest = Ingest(OrderStore(db))
    orders = seed(70, seed=9)
    await _deliver(ingest, [created_event(o) for o in orders])
    store = OrderStore(db)
    ids = [o.order_id for o in orders]
    many = await store.load([*ids, "no-such-order"])  # above the point-read limit: one `$in`
    few: dict[str, Order] = {}
    for start in range(0, len(ids), 10):
        few.update(await store.load(ids[start : start + 10]))
    assert sorted(many) == sorted(few) == sorted(ids)
    assert many == few


async def test_orders_at_one_address_across_midnight_flag_each_other_from_separate_batches(
    mongo_client: AsyncMongoClient[Doc], mongo_db_name: str
) -> None:
    """The neighbours are read by address and day (`address_orders`, docs/decisions/0142): three
    buyers' orders at one address, 20 minutes apart around a UTC midnight, each delivered in a
    batch of its own by one of two replicas, all end up flagged; a fourth order two days later
    at the same address is too far from them to be flagged."""
    db = mongo_client[mongo_db_name]
    await ensure_indexes(db)
    orders = [o for o in seed(12, seed=5) if o.steps][:4]
    first = created_event(orders[0]).data.order
    midnight = (first.create_time // 86400 + 1) * 86400
    events = []
    for index, seed_order in enumerate(orders):
        event = created_event(seed_order)
        at = midnight - 1200 + 1200 * index if index < 3 else midnight + 2 * 86400
        snapshot = event.data.order.model_copy(
            update={
                "recipient_address": first.recipient_address,
                "create_time": at,
                "user_id": f"buyer-{index}",
            }
        )
        events.append(
            event.model_copy(update={"data": event.data.model_copy(update={"order": snapshot})})
        )
    replicas = [Ingest(OrderStore(db)), Ingest(OrderStore(db))]
    for index, event in enumerate(events):
        await _deliver(replicas[index % 2], [event])

    stored = await _stored(db)
    ids = [o.order_id for o in orders]
    assert [SHARED_ADDRESS in stored[i].risk for i in ids] == [True, True, True, False]
