"""Outgoing webhooks end to end: events on real Kafka → the dispatcher → real HTTP receivers
(docs/contract.md §3.7): once per subscription, signed, in order per order id, retried,
parked, replayed; a slow subscriber does not hold back a fast one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from wh_support import StartDispatcher, add_subscriptions

from orderlens.events import EventType
from orderlens.waiting import wait_for
from orderlens.webhooks import DELIVERIES, DeliveryState, replay_parked
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.webhook_receiver import (
    Receiver,
    order_created,
    publish,
    receivers,
    status_changed,
    subscription,
)

pytestmark = pytest.mark.integration


def order_events(shop: str, orders: int, per_order: int, prefix: str = "o") -> list[Any]:
    """Per order: its creation, then `per_order - 1` status changes, interleaved across orders."""
    events: list[Any] = []
    for step in range(per_order):
        for n in range(orders):
            order_id = f"{shop}-{prefix}{n}"
            events.append(
                order_created(order_id, shop) if step == 0 else status_changed(order_id, shop)
            )
    return events


def expected_per_order(events: list[Any]) -> dict[str, list[str]]:
    orders: dict[str, list[str]] = {}
    for event in events:
        orders.setdefault(event.subject, []).append(event.id)
    return orders


async def publish_all(producer: AIOKafkaProducer, topics: TopicNames, events: list[Any]) -> None:
    created = [e for e in events if e.type == EventType.ORDER_CREATED]
    changed = [e for e in events if e.type == EventType.STATUS_CHANGED]
    # Creations first: an order's status changes come after it on the other topic.
    await publish(producer, topics.created, created)
    await publish(producer, topics.status_changed, changed)


async def test_each_event_once_per_subscription_signed(
    start_dispatcher: StartDispatcher,
    producer: AIOKafkaProducer,
    topic_names: TopicNames,
    mongo_db: Any,
    unique_id: str,
) -> None:
    shop, other_shop = f"shop-{unique_id}", f"other-{unique_id}"
    a, b, only_created, foreign = Receiver(), Receiver(), Receiver(), Receiver()
    async with receivers(a, b, only_created, foreign):
        await add_subscriptions(
            mongo_db,
            subscription(shop, a),
            subscription(shop, b),
            subscription(shop, only_created, EventType.ORDER_CREATED),
            subscription(other_shop, foreign),
        )
        await start_dispatcher()
        events = order_events(shop, orders=4, per_order=3)
        await publish_all(producer, topic_names, events)
        ids = sorted(e.id for e in events)

        async def both_have_all() -> bool:
            return sorted(set(a.ids())) == ids and sorted(set(b.ids())) == ids

        await wait_for(both_have_all, 30, "every event at both subscribers")
        # A later marker: once the created-only subscriber has it, nothing else is on its way.
        marker = order_created(f"{shop}-marker", shop)
        await publish(producer, topic_names.created, [marker])
        await wait_for(
            _has(only_created, marker.id), 30, "the marker at the created-only subscriber"
        )
        await wait_for(_has(a, marker.id), 30, "the marker at a")

    assert sorted(a.ids()) == sorted([*ids, marker.id]), "each event exactly once"
    assert sorted(b.ids()) == sorted([*ids, marker.id])
    assert all(r.signature_valid for r in [*a.accepted, *b.accepted, *only_created.accepted])
    created_ids = sorted(e.id for e in events if e.type == EventType.ORDER_CREATED)
    assert sorted(only_created.ids()) == sorted([*created_ids, marker.id])
    assert foreign.accepted == [], "another shop's subscriber gets none of this shop's events"
    # The body is the CloudEvent as published (structured JSON, id = the event id).
    first = a.accepted[0].body
    assert first["specversion"] == "1.0"
    assert first["id"] in ids
    assert first["type"] in {t.value for t in EventType}
    assert a.per_order() == {**expected_per_order(events), marker.subject: [marker.id]}


def _has(receiver: Receiver, event_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return event_id in receiver.ids()

    return check


async def test_a_failing_receiver_gets_everything_in_order_after_it_recovers(
    start_dispatcher: StartDispatcher,
    producer: AIOKafkaProducer,
    topic_names: TopicNames,
    mongo_db: Any,
    unique_id: str,
) -> None:
    shop = f"shop-{unique_id}"
    flaky = Receiver(status=503)
    async with receivers(flaky):
        await add_subscriptions(mongo_db, subscription(shop, flaky))
        await start_dispatcher()
        events = order_events(shop, orders=3, per_order=4)
        await publish_all(producer, topic_names, events)

        async def refused_a_few() -> bool:
            return flaky.refused >= 6

        await wait_for(refused_a_few, 30, "the receiver refused several attempts")
        assert flaky.accepted == []
        flaky.status = 200  # it recovers

        async def got_all() -> bool:
            return len(set(flaky.ids())) == len(events)

        await wait_for(got_all, 30, "every event after the recovery")

    assert all(r.signature_valid for r in flaky.accepted)
    got = flaky.per_order()
    for order_id, expected in expected_per_order(events).items():
        # At least once: a repeat is allowed, but the first sight of each event is in order.
        firsts = list(dict.fromkeys(got[order_id]))
        assert firsts == expected, f"{order_id} out of order"


async def test_a_receiver_that_never_recovers_ends_parked_and_replay_delivers(
    start_dispatcher: StartDispatcher,
    producer: AIOKafkaProducer,
    topic_names: TopicNames,
    mongo_db: Any,
    unique_id: str,
) -> None:
    shop = f"shop-{unique_id}"
    dead = Receiver(status=500)
    async with receivers(dead):
        sub = subscription(shop, dead)
        await add_subscriptions(mongo_db, sub)
        await start_dispatcher(webhook_retry_max_age_seconds=1.5)
        events = order_events(shop, orders=2, per_order=3)
        await publish_all(producer, topic_names, events)

        async def all_parked() -> bool:
            parked = await mongo_db[DELIVERIES].count_documents(
                {"subscription_id": sub.id, "state": DeliveryState.PARKED.value}
            )
            return parked == len(events)

        await wait_for(all_parked, 30, "every delivery parked after the retry window")
        assert dead.accepted == []
        assert dead.refused >= 2
        doc = await mongo_db[DELIVERIES].find_one(
            {"subscription_id": sub.id, "attempts": {"$gt": 1}}
        )
        assert doc is not None
        assert doc["last_error"] == "HTTP 500"

        dead.status = 200
        # It answers again, but before the replay: a later event of a parked order must wait
        # parked behind it, while a new order's event goes out at once.
        behind = status_changed(f"{shop}-o0", shop, "DELIVERED")
        fresh = order_created(f"{shop}-fresh", shop)
        await publish(producer, topic_names.status_changed, [behind])
        await publish(producer, topic_names.created, [fresh])

        async def fresh_delivered() -> bool:
            return fresh.id in dead.ids()

        await wait_for(fresh_delivered, 30, "a new order's event while the others are parked")

        async def behind_parked() -> bool:
            doc = await mongo_db[DELIVERIES].find_one({"event_id": behind.id})
            return doc is not None and doc["state"] == DeliveryState.PARKED.value

        await wait_for(behind_parked, 30, "the later event of a parked order parked behind it")
        assert behind.id not in dead.ids()
        events.append(behind)
        replayed = await replay_parked(mongo_db, sub.id, datetime.now(UTC))
        assert replayed == len(events)

        async def got_all() -> bool:
            return len(set(dead.ids()) - {fresh.id}) == len(events)

        await wait_for(got_all, 30, "the replayed deliveries")

    for order_id, expected in expected_per_order(events).items():
        assert list(dict.fromkeys(dead.per_order()[order_id])) == expected
    delivered = await mongo_db[DELIVERIES].count_documents(
        {"subscription_id": sub.id, "state": DeliveryState.DELIVERED.value}
    )
    assert delivered == len(events) + 1  # and the fresh order's


async def test_a_slow_receiver_does_not_delay_a_fast_one(
    start_dispatcher: StartDispatcher,
    producer: AIOKafkaProducer,
    topic_names: TopicNames,
    mongo_db: Any,
    unique_id: str,
) -> None:
    shop = f"shop-{unique_id}"
    slow, fast = Receiver(delay=3.0), Receiver()
    async with receivers(slow, fast):
        await add_subscriptions(mongo_db, subscription(shop, slow), subscription(shop, fast))
        await start_dispatcher(webhook_concurrency=1)
        events = order_events(shop, orders=5, per_order=2)
        await publish_all(producer, topic_names, events)

        async def fast_has_all() -> bool:
            return len(set(fast.ids())) == len(events)

        await wait_for(fast_has_all, 20, "every event at the fast receiver")
        # One attempt at a time to the slow one, 3 s each: it has at most the first one or two.
        assert len(slow.accepted) < len(events) / 2

        async def slow_has_some() -> bool:
            return len(slow.accepted) >= 1

        await wait_for(slow_has_some, 20, "the slow receiver still gets its deliveries")


async def test_a_mongodb_outage_pauses_delivery_and_loses_nothing(
    mongo_server: Any,
    start_dispatcher: StartDispatcher,
    producer: AIOKafkaProducer,
    topic_names: TopicNames,
    unique_id: str,
) -> None:
    from pymongo import AsyncMongoClient

    shop = f"shop-{unique_id}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_server.uri, tz_aware=True)
    db = client[f"wh_{unique_id}"]
    receiver = Receiver()
    try:
        async with receivers(receiver):
            await add_subscriptions(db, subscription(shop, receiver))
            await start_dispatcher(mongodb_uri=mongo_server.uri, mongodb_database=db.name)
            # The orders exist before the outage; their status changes come during it (one
            # topic, so Kafka's order is the order to keep: docs/contract.md §3.7).
            before = order_events(shop, orders=3, per_order=1)
            await publish_all(producer, topic_names, before)

            async def got(events: list[Any]) -> bool:
                return {e.id for e in events} <= set(receiver.ids())

            await wait_for(lambda: got(before), 30, "the events before the outage")
            await mongo_server.astop()
            during = [
                status_changed(e.subject, shop, status)
                for status in ("IN_TRANSIT", "DELIVERED", "COMPLETED")
                for e in before
            ]
            await publish_all(producer, topic_names, during)
            await mongo_server.astart()
            await wait_for(lambda: got(during), 90, "the events published during the outage")
    finally:
        await client.close()
    for order_id, expected in expected_per_order([*before, *during]).items():
        assert list(dict.fromkeys(receiver.per_order()[order_id])) == expected
