"""Seller actions through a real Kafka broker: 202 with the event id, the event on
orders.status-changed, 409 on a disallowed transition, and Idempotency-Key publishing once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from orderlens_devtools.devstack import delete_topics, ensure_topics
from pymongo import AsyncMongoClient
from qa_api import Api, start_api
from qa_orders import NOW, make_orders

from orderlens.domain.order import Order
from orderlens.domain.status import OrderStatus
from orderlens.events import EventType, StatusChanged, decode
from orderlens.roles import Role


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
        deadline = time.monotonic() + 60
        while (await running.client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "query-api never became ready"
            await asyncio.sleep(0.5)
        yield running


async def events_of(bootstrap: str, topic: str, order_id: str, settle: float = 3.0) -> list[Any]:
    """Every event on `topic` about `order_id` (read from the start, until quiet for `settle`)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found = []
    try:
        quiet_since = started = time.monotonic()
        while time.monotonic() - quiet_since < settle and time.monotonic() - started < 30:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                quiet_since = time.monotonic()
                for record in records:
                    if record.key == order_id.encode():
                        found.append(decode(record.value, EventType.STATUS_CHANGED))
    finally:
        await consumer.stop()
    return found


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

    [event] = await events_of(kafka_bootstrap_servers, topic, to_ship.id, settle=0.5)
    assert event.data.status == OrderStatus.AWAITING_COLLECTION
    assert event.data.package.carrier == "USPS"
    assert event.data.package.tracking_number == "9400111899223197428490"
    assert event.data.package.package_id == "p-1"

    [event] = await events_of(kafka_bootstrap_servers, topic, to_cancel.id, settle=0.5)
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
        assert await events_of(kafka_bootstrap_servers, topic, order.id, settle=1.0) == []


async def test_ready_with_kafka_and_mongodb(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.json() == {"status": "ready", "mongodb": True, "kafka": True}
