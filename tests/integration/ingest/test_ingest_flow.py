"""order-ingest through a real Kafka broker and a real MongoDB-wire server: what a user of the
`orders` collection and of the dead-letter topic would check."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
from ing_support import (
    Publisher,
    StartIngest,
    buckets_exact,
    committed_everything,
    complete,
    events_of,
    expected,
    read_topic,
    seed,
    stored_orders,
)
from prometheus_client import REGISTRY
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.events import encode
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.seed import created_event, status_events
from orderlens_ingest.domain.orders import same_content

Doc = dict[str, Any]


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_published_orders_and_status_changes_become_documents(
    start_ingest: StartIngest,
    publisher: Publisher,
    mongo_db: AsyncDatabase[Doc],
    topic_names: TopicNames,
    kafka_bootstrap_servers: str,
) -> None:
    orders = seed(24)
    await publisher.events(events_of(orders))
    app = await start_ingest()
    await wait_for(complete(mongo_db, orders), 90, "every order and status change stored")

    stored = await stored_orders(mongo_db)
    for seed_order in orders:
        order = stored[seed_order.order_id]
        assert same_content(order, expected(seed_order)), seed_order.order_id
        assert order.status == seed_order.final["status"]
    await buckets_exact(mongo_db)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.health.port}") as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        metrics = (await http.get("/metrics")).text
    for name in (
        "orderlens_messages_consumed_total",
        "orderlens_messages_applied_total",
        "orderlens_batch_duration_seconds_bucket",
        "orderlens_consumer_lag",
        "orderlens_last_processed_timestamp_seconds",
    ):
        assert name in metrics
    created = topic_names.created
    assert _metric("orderlens_messages_consumed_total", service="order-ingest", topic=created) >= 24
    lags = [
        _metric("orderlens_consumer_lag", service="order-ingest", topic=created, partition=str(p))
        for p in range(3)
    ]
    assert lags == [0.0, 0.0, 0.0]
    await wait_for(
        lambda: committed_everything(
            kafka_bootstrap_servers, app.settings.ingest_group_id, topic_names.status_changed
        ),
        30,
        "every status-changed offset committed",
    )


async def test_duplicates_and_any_order_give_the_in_order_documents(
    start_ingest: StartIngest,
    publisher: Publisher,
    mongo_db: AsyncDatabase[Doc],
    topic_names: TopicNames,
) -> None:
    orders = seed(12, seed=22)
    changes = [e for o in orders for e in status_events(o)]
    snapshots = [created_event(o) for o in orders]
    newer = [created_event(o, final=True) for o in orders[:4]]
    shuffled = changes + random.Random(5).sample(changes, len(changes) // 2)
    random.Random(6).shuffle(shuffled)
    ignored_before = _metric(
        "orderlens_messages_ignored_total",
        service="order-ingest",
        topic=topic_names.status_changed,
        reason="duplicate",
    )
    # Status changes first (parked: their orders are unknown), the newer snapshots before the
    # older ones, and everything more than once.
    await publisher.events(shuffled)
    await publisher.events(newer + snapshots + snapshots[:5])
    await start_ingest()
    await wait_for(complete(mongo_db, orders), 90, "every order stored with its whole history")

    stored = await stored_orders(mongo_db)
    for seed_order in orders:
        order = stored[seed_order.order_id]
        history = [entry.event_id for entry in order.history]
        assert len(history) == len(set(history)) == len(seed_order.steps)
        assert order.status == seed_order.final["status"]
    for seed_order in orders[4:]:
        assert same_content(stored[seed_order.order_id], expected(seed_order))
    for seed_order in orders[:4]:  # the newer snapshot won
        assert stored[seed_order.order_id].source_update_time == seed_order.final["update_time"]
    await buckets_exact(mongo_db)

    async def duplicates_counted() -> bool:
        # The batch's outcome is counted once the batch ends, after its documents are written.
        ignored = _metric(
            "orderlens_messages_ignored_total",
            service="order-ingest",
            topic=topic_names.status_changed,
            reason="duplicate",
        )
        return ignored - ignored_before >= len(changes) // 2 - 2

    await wait_for(duplicates_counted, 30, "the redelivered status changes counted as duplicates")


async def test_a_status_change_for_an_unknown_order_waits_for_it(
    start_ingest: StartIngest, publisher: Publisher, mongo_db: AsyncDatabase[Doc]
) -> None:
    (seed_order,) = [o for o in seed(30, seed=23) if len(o.steps) >= 3][:1]
    first = next(status_events(seed_order))
    await start_ingest()
    await publisher.events([first])

    async def parked() -> bool:
        return await mongo_db.parked_status_events.count_documents({"_id": first.id}) == 1

    await wait_for(parked, 30, "the status change parked")
    assert await mongo_db.orders.count_documents({}) == 0

    await publisher.events([created_event(seed_order)])

    async def folded() -> bool:
        doc = await mongo_db.orders.find_one({"_id": seed_order.order_id})
        return doc is not None and [h["event_id"] for h in doc["history"]] == [first.id]

    await wait_for(folded, 30, "the parked change folded into its order")
    assert await mongo_db.parked_status_events.count_documents({}) == 0
    doc = await mongo_db.orders.find_one({"_id": seed_order.order_id})
    assert doc is not None
    assert doc["status"] == first.data.status.value
    assert doc["history"][0]["applied"] is True


async def test_poison_messages_go_to_the_dead_letter_topic_and_are_committed(
    start_ingest: StartIngest,
    publisher: Publisher,
    mongo_db: AsyncDatabase[Doc],
    topic_names: TopicNames,
    kafka_bootstrap_servers: str,
) -> None:
    good = seed(3, seed=24)
    bad_event = json.loads(encode(created_event(good[0])))
    del bad_event["data"]["order"]["line_items"]  # required by docs/contract.md §3.3
    poison = {
        b"not-json": b"\x00\xff{nope",
        b"not-a-cloudevent": b'{"hello": "world"}',
        b"invalid-data": json.dumps(bad_event).encode(),
        b"wrong-type": encode(next(status_events(next(o for o in good if o.steps)))),
    }
    for key, value in poison.items():
        await publisher.raw(topic_names.created, value, key)
    await publisher.events(created_event(o) for o in good)
    app = await start_ingest()

    async def stored() -> bool:
        return await mongo_db.orders.count_documents({}) == len(good)

    await wait_for(stored, 60, "the valid orders stored")
    letters = await read_topic(kafka_bootstrap_servers, topic_names.dead_letter, len(poison), 30)
    assert {r.key: r.value for r in letters} == poison
    for record in letters:
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["x-original-topic"] == topic_names.created
        assert int(headers["x-original-partition"]) in (0, 1, 2)
        assert int(headers["x-original-offset"]) >= 0
        assert headers["x-error"]
        assert headers["x-failed-at"]
    errors = {r.key: dict(r.headers)["x-error"].decode() for r in letters}
    assert "line_items" in errors[b"invalid-data"]
    assert "unexpected event type" in errors[b"wrong-type"]
    await wait_for(
        lambda: committed_everything(
            kafka_bootstrap_servers, app.settings.ingest_group_id, topic_names.created
        ),
        30,
        "the poison messages' offsets committed",
    )
