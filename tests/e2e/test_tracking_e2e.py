"""A shipped order followed by the carrier until delivery, through both services and Kafka:
the status-tracker polls the simulated carrier and publishes what changes, order-ingest applies
it, and the stored order shows what a seller would see."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.events import OrderCreated, encode, make_event
from orderlens.roles import SELLER_ROLES
from orderlens.tiktok import TikTokOrder
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.carrier_simulator import RunningSimulator, SimulatorConfig, running
from orderlens_devtools.devstack import TopicNames
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings
from orderlens_tracker.app import TrackerApp
from orderlens_tracker.settings import TrackerSettings

# An hour of a journey in 90 ms: a parcel's few hours in EXCEPTION last about a second.
SPEED = 40_000.0


@pytest_asyncio.fixture
async def simulator() -> AsyncIterator[RunningSimulator]:
    async with running(SimulatorConfig(speed=SPEED, latency_ms=5, rate_limit=None)) as sim:
        yield sim


@pytest_asyncio.fixture
async def services(
    simulator: RunningSimulator,
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
) -> AsyncIterator[None]:
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap_servers,
        "mongodb_uri": mongodb_uri,
        "mongodb_database": mongo_db_name,
        "topic_orders_created": topic_names.created,
        "topic_status_changed": topic_names.status_changed,
        "topic_dead_letter": topic_names.dead_letter,
        "http_host": "127.0.0.1",
        "http_port": 0,
        "log_json": False,
    }
    ingest = IngestApp(
        IngestSettings(**common, ingest_group_id=f"ingest-{unique_id}", ingest_batch_timeout_ms=50)
    )
    tracker = TrackerApp(
        TrackerSettings(
            **common,
            consumer_group=f"tracker-{unique_id}",
            carrier_simulator_url=simulator.url,
            carrier_rate_limit=200.0,
            carrier_timeout_seconds=1.0,
            carrier_max_attempts=2,
            carrier_backoff_cap_seconds=0.2,
            # Several polls per simulated hour-or-two: no state of the journey is missed.
            cadence_scale=0.25 * 3600 / SPEED / 3600,
            lease_seconds=4.0,
            refresh_seconds=0.3,
            idle_seconds=0.05,
            shards=8,
        )
    )
    await ingest.start()
    await tracker.start()
    try:
        yield
    finally:
        await tracker.stop()
        await ingest.stop()


def shipped_order(order_id: str, tracking_number: str) -> bytes:
    package_id = f"pkg-{order_id}"
    line = {
        "sku_id": "sku-1",
        "product_name": "Ceramic mug",
        "sale_price": "12.50",
        "package_id": package_id,
        "tracking_number": tracking_number,
        "shipping_provider_name": "simpost",
    }
    order = TikTokOrder.model_validate(
        {
            "id": order_id,
            "status": "AWAITING_COLLECTION",
            "create_time": int(time.time()) - 86_400,
            "update_time": int(time.time()) - 3_600,
            "paid_time": int(time.time()) - 80_000,
            "payment": {"currency": "USD", "total_amount": "25.00"},
            "line_items": [{**line, "id": f"{order_id}-1"}, {**line, "id": f"{order_id}-2"}],
            "packages": [{"id": package_id}],
            "tracking_number": tracking_number,
            "shipping_provider": "simpost",
        }
    )
    event = make_event(
        OrderCreated(shop_id="7000000001", order=order), source="tests/e2e", subject=order_id
    )
    return encode(event)


async def test_a_shipped_order_is_delivered_and_an_exception_raises_delivery_issue(
    services: None,
    kafka_bootstrap_servers: str,
    topic_names: TopicNames,
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    delivered_id = f"57{uuid.uuid4().int % 10**16:016d}"
    troubled_id = f"57{uuid.uuid4().int % 10**16:016d}"
    numbers = {
        delivered_id: f"SIMDLV{uuid.uuid4().hex[:10].upper()}",
        troubled_id: f"SIMEXC{uuid.uuid4().hex[:10].upper()}",
    }
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for order_id, number in numbers.items():
            await producer.send_and_wait(
                topic_names.created, shipped_order(order_id, number), key=order_id.encode()
            )
    finally:
        await producer.stop()

    orders = mongo_db["orders"]
    seen: dict[str, list[dict[str, Any]]] = {delivered_id: [], troubled_id: []}
    deadline = time.monotonic() + 90
    while True:
        for order_id in numbers:
            doc = await orders.find_one({"_id": order_id})
            if doc is not None:
                seen[order_id].append(doc)
        finished = [docs[-1]["status"] if docs else None for docs in seen.values()]
        if finished == ["DELIVERED", "DELIVERED"]:
            break
        assert time.monotonic() < deadline, f"orders not delivered in time: {finished}"
        await asyncio.sleep(0.05)

    delivered = seen[delivered_id][-1]
    [package] = delivered["packages"]
    assert package["tracking_number"] == numbers[delivered_id]
    assert package["tracking_status"] == "DELIVERED"
    assert package["carrier"] == "simpost"
    assert [c["status"] for c in package["checkpoints"]][-2:] == ["OUT_FOR_DELIVERY", "DELIVERED"]
    assert package["estimated_delivery_at"] is not None
    assert delivered["delivered_at"] is not None
    # The way there, as the seller saw it: shipped, in transit, then delivered.
    statuses = [doc["status"] for doc in seen[delivered_id]]
    assert "IN_TRANSIT" in statuses
    assert statuses.index("IN_TRANSIT") < statuses.index("DELIVERED")
    assert not any(doc["delivery_issue"] for doc in seen[delivered_id])

    troubled = seen[troubled_id]
    assert any(
        doc["delivery_issue"] and doc["packages"][0]["tracking_status"] == "EXCEPTION"
        for doc in troubled
    ), "the exception raised delivery_issue while it lasted"
    assert any(c["status"] == "EXCEPTION" for c in troubled[-1]["packages"][0]["checkpoints"])


async def test_the_detail_view_of_an_order_the_tracker_delivered_answers_for_every_role(
    services: None,
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    """issue 17 #1: history entries written by the tracker's events carry package fields; the
    detail view must show them, not answer 500."""
    order_id = f"58{uuid.uuid4().int % 10**16:016d}"
    number = f"SIMDLV{uuid.uuid4().hex[:10].upper()}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_names.created, shipped_order(order_id, number), key=order_id.encode()
        )
    finally:
        await producer.stop()

    stored: dict[str, Any] | None = None
    deadline = time.monotonic() + 90
    while stored is None or stored["status"] != "DELIVERED":
        assert time.monotonic() < deadline, f"order not delivered in time: {stored}"
        await asyncio.sleep(0.05)
        stored = await mongo_db["orders"].find_one({"_id": order_id})
    assert any(entry.get("tracking_number") == number for entry in stored["history"])

    settings = QueryApiSettings(
        mongodb_uri=mongodb_uri,
        mongodb_database=mongo_db_name,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        topic_status_changed=topic_names.status_changed,
        log_json=False,
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qa") as client:
            for role in sorted(SELLER_ROLES):
                token = mint_token(
                    sub=f"e2e-{role}", role=role, shops=["7000000001"], secret=LOCAL_DEV_SECRET
                )
                response = await client.get(
                    f"/v1/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 200, (role, response.text)
                body = response.json()
                assert body["status"] == "DELIVERED"
                timeline = body["history"]
                assert [e["event_id"] for e in timeline] == [
                    e["event_id"] for e in stored["history"]
                ], role
                assert any(e["tracking_status"] == "DELIVERED" for e in timeline), role
                # The package fields the tracker's events carry are part of the timeline.
                assert any(e["tracking_number"] == number for e in timeline), (role, timeline)
                [package] = body["packages"]
                assert package["carrier"] == "simpost"
                assert package["checkpoints"][-1]["status"] == "DELIVERED"
