"""An order's creation reaches a subscriber before its status changes, even when the
dispatcher read the status changes first (another topic; after an outage, say), across a
receiver outage, a crash between the queue's writes and a partial replay (decision 0225,
docs/contract.md §3.7). Real Kafka, mongo-java-server and HTTP receivers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from wh_support import StartDispatcher, add_subscriptions

from orderlens.events import encode
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
from orderlens_webhooks.adapters.deliveries import DeliveryStore, NewDelivery
from orderlens_webhooks.service import due_heads

pytestmark = pytest.mark.integration


async def test_status_changes_read_before_their_creation_go_after_it_once_signed(
    start_dispatcher: StartDispatcher,
    producer: AIOKafkaProducer,
    topic_names: TopicNames,
    mongo_db: Any,
    unique_id: str,
) -> None:
    shop = f"shop-{unique_id}"
    flaky = Receiver(status=503)
    async with receivers(flaky):
        sub = subscription(shop, flaky)
        await add_subscriptions(mongo_db, sub)
        await start_dispatcher(webhook_creation_wait_seconds=120)
        orders = [f"{shop}-o{n}" for n in range(3)]
        created = [order_created(o, shop) for o in orders]
        changed = [status_changed(o, shop, s) for s in ("IN_TRANSIT", "DELIVERED") for o in orders]
        # The status changes are read (and queued) before their orders' creations.
        await publish(producer, topic_names.status_changed, changed)

        async def changes_queued() -> bool:
            queued = await mongo_db[DELIVERIES].count_documents({"subscription_id": sub.id})
            return bool(queued == len(changed))

        await wait_for(changes_queued, 30, "the status changes queued")
        await publish(producer, topic_names.created, created)

        async def refused_a_few() -> bool:
            return bool(flaky.refused >= 4)

        await wait_for(refused_a_few, 30, "the receiver refused several attempts")
        flaky.status = 200  # it recovers

        async def got_all() -> bool:
            return len(set(flaky.ids())) == len(created) + len(changed)

        await wait_for(got_all, 30, "every event after the recovery")

    assert all(r.signature_valid for r in flaky.accepted)
    assert len(flaky.ids()) == len(created) + len(changed), "each event once"
    got = flaky.per_order()
    for n, order_id in enumerate(orders):
        expected = [created[n].id, changed[n].id, changed[n + len(orders)].id]
        assert got[order_id] == expected, f"{order_id}: its creation first, then its changes"


async def test_a_status_change_whose_creation_never_comes_goes_after_the_wait(
    start_dispatcher: StartDispatcher,
    producer: AIOKafkaProducer,
    topic_names: TopicNames,
    mongo_db: Any,
    unique_id: str,
) -> None:
    # E.g. an order created before the subscription: its creation is never queued for it.
    shop = f"shop-{unique_id}"
    receiver = Receiver()
    async with receivers(receiver):
        await add_subscriptions(mongo_db, subscription(shop, receiver))
        await start_dispatcher(webhook_creation_wait_seconds=0.5)
        orphan = status_changed(f"{shop}-old", shop)
        await publish(producer, topic_names.status_changed, [orphan])

        async def arrived() -> bool:
            return orphan.id in receiver.ids()

        await wait_for(arrived, 30, "the status change after the creation wait")
        later = status_changed(f"{shop}-old", shop, "DELIVERED")
        await publish(producer, topic_names.status_changed, [later])

        async def later_arrived() -> bool:
            return later.id in receiver.ids()

        await wait_for(later_arrived, 30, "the order's next status change")
    assert receiver.ids() == [orphan.id, later.id]


async def test_status_changes_waiting_for_their_creation_hold_back_no_other_order(
    start_dispatcher: StartDispatcher,
    producer: AIOKafkaProducer,
    topic_names: TopicNames,
    mongo_db: Any,
    unique_id: str,
) -> None:
    shop = f"shop-{unique_id}"
    receiver = Receiver()
    async with receivers(receiver):
        sub = subscription(shop, receiver)
        await add_subscriptions(mongo_db, sub)
        # More waiting orders than one scan of the queue reads.
        await start_dispatcher(webhook_creation_wait_seconds=600, webhook_scan_limit=10)
        orphans = [status_changed(f"{shop}-old{n}", shop) for n in range(12)]
        await publish(producer, topic_names.status_changed, orphans)

        async def orphans_queued() -> bool:
            queued = await mongo_db[DELIVERIES].count_documents({"subscription_id": sub.id})
            return bool(queued == len(orphans))

        await wait_for(orphans_queued, 30, "the status changes queued")
        fresh = [order_created(f"{shop}-new", shop), status_changed(f"{shop}-new", shop)]
        await publish(producer, topic_names.created, fresh[:1])
        await publish(producer, topic_names.status_changed, fresh[1:])

        async def fresh_arrived() -> bool:
            return len(receiver.ids()) == len(fresh)

        await wait_for(fresh_arrived, 30, "the new order's events while the others wait")
    assert receiver.ids() == [e.id for e in fresh]


def queued(sub_id: str, event: Any) -> NewDelivery:
    return NewDelivery(
        subscription_id=sub_id,
        shop_id="shop",
        event_id=event.id,
        event_type=event.type.value,
        order_id=event.subject,
        event_time=event.time,
        body=encode(event),
        creation_first=True,
    )


async def seq_order(store: DeliveryStore, sub_id: str) -> list[str]:
    return [d.event_id for d in await store.pending(sub_id, 100, datetime.now(UTC))]


async def test_a_crash_between_the_queue_writes_is_mended_by_the_redelivered_batch(
    mongo_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DeliveryStore(mongo_db, keep_delivered=timedelta(days=1), creation_wait=timedelta(1))
    await store.ensure_indexes()
    now = datetime.now(UTC)
    creation = order_created("o1", "shop")
    first, second = status_changed("o1", "shop"), status_changed("o1", "shop", "DELIVERED")
    await store.enqueue([queued("s", first), queued("s", second)], now)
    # They wait for the order's creation: nothing may go.
    assert due_heads(await store.pending("s", 100, now), now).due == []

    async def crash(*args: Any) -> None:
        raise RuntimeError("killed after the creation was written")

    monkeypatch.setattr(store, "_put_creation_first", crash)
    with pytest.raises(RuntimeError):
        await store.enqueue([queued("s", creation)], now)
    # Written, but behind the waiting status changes: still nothing may go.
    assert due_heads(await store.pending("s", 100, now), now).due == []
    monkeypatch.undo()

    for _ in range(2):  # the batch redelivered, then once more: the same queue
        assert await store.enqueue([queued("s", creation)], now) == 0
        assert await seq_order(store, "s") == [creation.id, first.id, second.id]
    heads = due_heads(await store.pending("s", 100, now), now)
    assert [d.event_id for d in heads.due] == [creation.id]
    third = status_changed("o1", "shop", "COMPLETED")
    await store.enqueue([queued("s", third)], now)
    assert await seq_order(store, "s") == [creation.id, first.id, second.id, third.id]
    assert not await mongo_db[DELIVERIES].count_documents({"before_creation": True})


async def test_a_late_creation_goes_first_and_the_changes_keep_their_order(
    mongo_db: Any,
) -> None:
    store = DeliveryStore(mongo_db, keep_delivered=timedelta(days=1), creation_wait=timedelta(1))
    now = datetime.now(UTC)
    creation = order_created("o1", "shop")
    first, second = status_changed("o1", "shop"), status_changed("o1", "shop", "DELIVERED")
    other = order_created("o2", "shop")
    await store.enqueue([queued("s", first), queued("s", other)], now)
    # The creation and a later change come in one batch, after the first change.
    await store.enqueue([queued("s", creation), queued("s", second)], now)
    order = await seq_order(store, "s")
    assert [e for e in order if e != other.id] == [creation.id, first.id, second.id]


async def test_replaying_a_later_delivery_replays_the_parked_ones_before_it(
    mongo_db: Any,
) -> None:
    store = DeliveryStore(mongo_db, keep_delivered=timedelta(days=1))
    now = datetime.now(UTC)
    creation, change = order_created("o1", "shop"), status_changed("o1", "shop")
    other = order_created("o2", "shop")
    await store.enqueue([queued("s", creation), queued("s", change), queued("s", other)], now)
    pending = {d.event_id: d for d in await store.pending("s", 100, now)}
    for event in (creation, other):
        await store.park(pending[event.id], now, status=500, error="HTTP 500")
    assert await store.pending("s", 100, now) == []

    replayed = await replay_parked(mongo_db, "s", now, [pending[change.id].id])
    assert replayed == 2
    assert await seq_order(store, "s") == [creation.id, change.id]
    still = await mongo_db[DELIVERIES].find_one({"event_id": other.id})
    assert still["state"] == DeliveryState.PARKED.value
