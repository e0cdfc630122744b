"""Seller actions through a real Kafka broker: 202 with the event id, the event on
orders.status-changed, 409 on a disallowed transition, and Idempotency-Key publishing once."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient
from qa_api import Api, start_api
from qa_orders import NOW, make_orders

from orderlens.domain.order import Order
from orderlens.domain.status import OrderStatus
from orderlens.events import EventType, StatusChanged, decode
from orderlens.roles import Role
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import delete_topics, ensure_topics


def with_statuses(orders: list[Order]) -> list[Order]:
    """The first orders put in the states the actions start from."""
    wanted = [
        OrderStatus.ON_HOLD,
        OrderStatus.ON_HOLD,
        OrderStatus.AWAITING_SHIPMENT,
        OrderStatus.AWAITING_SHIPMENT,
        OrderStatus.AWAITING_SHIPMENT,
        OrderStatus.IN_TRANSIT,
        OrderStatus.COMPLETED,
        OrderStatus.AWAITING_SHIPMENT,
        OrderStatus.AWAITING_SHIPMENT,
        OrderStatus.AWAITING_SHIPMENT,
        OrderStatus.AWAITING_SHIPMENT,
    ]
    changed = [o.model_copy(update={"status": s}) for o, s in zip(orders, wanted, strict=False)]
    return changed + orders[len(wanted) :]


@pytest_asyncio.fixture(scope="module")
async def topic(kafka_bootstrap_servers: str) -> AsyncIterator[str]:
    name = f"orders.status-changed.qa-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap_servers, [name], partitions=1)
    yield name
    await delete_topics(kafka_bootstrap_servers, [name])


@pytest_asyncio.fixture(scope="module")
async def api(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    mongodb_uri: str,
    kafka_bootstrap_servers: str,
    topic: str,
) -> AsyncIterator[Api]:
    orders, shops = make_orders(20, seed=31, shops=1, end=NOW)
    async for running in start_api(
        mongo_client,
        mongodb_uri,
        with_statuses(orders),
        shops,
        kafka=kafka_bootstrap_servers,
        topic_status_changed=topic,
    ):

        async def ready(client: httpx.AsyncClient = running.client) -> bool:
            return (await client.get("/readyz")).status_code == 200

        await wait_for(ready, within=60, what="query-api to become ready", every=0.5)
        yield running


async def events_of(bootstrap: str, topic: str, order_id: str) -> list[Any]:
    """Every event on `topic` about `order_id`, up to a marker published now with the same key:
    the marker lands on the same partition after anything published before it, so reaching it
    shows that nothing else is coming (no quiet period to wait out)."""
    marker = f"marker-{uuid.uuid4()}".encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, marker, key=order_id.encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, f"the marker on {topic} was not read within 30 s"
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.key != order_id.encode():
                        continue
                    if record.value == marker:
                        return found
                    if record.value.startswith(b"marker-"):
                        continue  # an earlier call's marker
                    found.append(decode(record.value, EventType.STATUS_CHANGED))
    finally:
        await consumer.stop()


async def post(api: Api, path: str, body: Any = None, **headers: str) -> Any:
    return await api.client.post(path, json=body, headers={**api.auth(Role.OPERATIONS), **headers})


async def test_confirm_ship_and_cancel_publish_status_changes(
    api: Api, kafka_bootstrap_servers: str, topic: str
) -> None:
    on_hold, to_ship, to_cancel = api.orders[0], api.orders[2], api.orders[3]
    confirmed = await post(api, f"/v1/orders/{on_hold.id}/actions/confirm")
    shipped = await post(
        api,
        f"/v1/orders/{to_ship.id}/actions/ship",
        {"carrier": "USPS", "tracking_number": "9400111899223197428490", "package_id": "p-1"},
    )
    cancelled = await post(
        api, f"/v1/orders/{to_cancel.id}/actions/cancel", {"reason": "Out of stock"}
    )
    for response in (confirmed, shipped, cancelled):
        assert response.status_code == 202, response.text
        assert response.json()["replayed"] is False

    [event] = await events_of(kafka_bootstrap_servers, topic, on_hold.id)
    assert event.id == confirmed.json()["event_id"]
    assert event.subject == on_hold.id
    data: StatusChanged = event.data
    assert data.status == OrderStatus.AWAITING_SHIPMENT
    assert data.source == "seller"
    assert data.shop_id == on_hold.shop_id

    [event] = await events_of(kafka_bootstrap_servers, topic, to_ship.id)
    assert event.data.status == OrderStatus.AWAITING_COLLECTION
    assert event.data.package.carrier == "USPS"
    assert event.data.package.tracking_number == "9400111899223197428490"
    assert event.data.package.package_id == "p-1"

    [event] = await events_of(kafka_bootstrap_servers, topic, to_cancel.id)
    assert event.data.status == OrderStatus.CANCELLED
    assert event.data.reason == "Out of stock"
    assert json.loads(event.model_dump_json())["type"] == EventType.STATUS_CHANGED.value


async def test_a_retried_request_with_an_idempotency_key_publishes_once(
    api: Api, kafka_bootstrap_servers: str, topic: str
) -> None:
    order = api.orders[4]
    path = f"/v1/orders/{order.id}/actions/cancel"
    key = f"retry-{uuid.uuid4()}"
    first = await post(api, path, {"reason": "duplicate order"}, **{"Idempotency-Key": key})
    again = await post(api, path, {"reason": "duplicate order"}, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202
    assert again.json()["event_id"] == first.json()["event_id"]
    assert again.json()["replayed"] is True
    other = await post(api, path, {"reason": "something else"}, **{"Idempotency-Key": key})
    assert other.status_code == 422
    events = await events_of(kafka_bootstrap_servers, topic, order.id)
    assert [e.id for e in events] == [first.json()["event_id"]]


async def test_a_disallowed_transition_answers_409_and_publishes_nothing(
    api: Api, kafka_bootstrap_servers: str, topic: str
) -> None:
    in_transit, completed, on_hold = api.orders[5], api.orders[6], api.orders[1]
    for path, body in [
        (f"/v1/orders/{in_transit.id}/actions/cancel", {"reason": "too late"}),
        (f"/v1/orders/{completed.id}/actions/confirm", None),
        (f"/v1/orders/{on_hold.id}/actions/ship", {"carrier": "UPS", "tracking_number": "1Z999"}),
    ]:
        response = await post(api, path, body)
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
    for order in (in_transit, completed, on_hold):
        assert await events_of(kafka_bootstrap_servers, topic, order.id) == []


async def test_ready_with_kafka_and_mongodb(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.json() == {"status": "ready", "mongodb": True, "kafka": True}


async def test_a_second_action_before_ingest_applies_the_first_answers_409(
    api: Api, kafka_bootstrap_servers: str, topic: str
) -> None:
    """issue 17 #2: nothing ingests here, so the read model still says AWAITING_SHIPMENT."""
    to_ship, to_cancel = api.orders[7], api.orders[8]
    ship = f"/v1/orders/{to_ship.id}/actions/ship"
    first = await post(api, ship, {"carrier": "USPS", "tracking_number": "9400111899223100000001"})
    assert first.status_code == 202, first.text
    second = await post(api, ship, {"carrier": "UPS", "tracking_number": "1Z9990000000000002"})
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == "application/problem+json"

    cancel = f"/v1/orders/{to_cancel.id}/actions/cancel"
    assert (await post(api, cancel, {"reason": "Out of stock"})).status_code == 202
    again = await post(api, cancel, {"reason": "Out of stock"})
    assert again.status_code == 409, again.text
    ship_cancelled = await post(
        api,
        f"/v1/orders/{to_cancel.id}/actions/ship",
        {"carrier": "UPS", "tracking_number": "1Z9990000000000003"},
    )
    assert ship_cancelled.status_code == 409, ship_cancelled.text

    [shipped] = await events_of(kafka_bootstrap_servers, topic, to_ship.id)
    assert shipped.id == first.json()["event_id"]
    assert shipped.data.package.carrier == "USPS"
    [cancelled] = await events_of(kafka_bootstrap_servers, topic, to_cancel.id)
    assert cancelled.data.status == OrderStatus.CANCELLED


async def test_a_replayed_key_is_refused_to_a_token_that_lost_the_shop(api: Api) -> None:
    """issue 17 #3: authorise first, then replay."""
    order = api.orders[9]
    path = f"/v1/orders/{order.id}/actions/cancel"
    key = {"Idempotency-Key": f"lost-{uuid.uuid4()}"}
    first = await post(api, path, {"reason": "duplicate order"}, **key)
    assert first.status_code == 202, first.text
    elsewhere = api.auth(Role.OPERATIONS, shops=["7999999999"])
    replay = await api.client.post(
        path, json={"reason": "duplicate order"}, headers={**elsewhere, **key}
    )
    assert replay.status_code == 404, replay.text
    assert "replayed" not in replay.text


async def test_a_replay_of_an_answer_stored_by_a_newer_replica_answers_it(api: Api) -> None:
    """A newer replica may have stored an answer with fields this one does not know: the
    replay answers the fields it knows, not 500 (decision 0079)."""
    order = api.orders[10]
    path = f"/v1/orders/{order.id}/actions/cancel"
    key = {"Idempotency-Key": f"newer-{uuid.uuid4()}"}
    first = await post(api, path, {"reason": "duplicate order"}, **key)
    assert first.status_code == 202, first.text
    updated = await api.db.idempotency_keys.update_one(
        {"response.event_id": first.json()["event_id"]},
        {"$set": {"response.accepted_at": "2026-12-01T00:00:00Z", "response.links": {}}},
    )
    assert updated.modified_count == 1
    again = await post(api, path, {"reason": "duplicate order"}, **key)
    assert again.status_code == 202, again.text
    assert again.json() == {**first.json(), "replayed": True}
