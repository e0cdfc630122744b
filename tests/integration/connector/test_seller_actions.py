"""Seller actions on real Kafka (orders.status-changed, source seller) → the connector → the
simulator over real HTTP, exactly once per event id; TikTok's webhook then brings the order
shipped; a refusal comes back as a status-changed event with the reason."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from conn_support import serve, stop
from cryptography.fernet import Fernet

from orderlens.domain.status import OrderStatus
from orderlens.events import PackageUpdate, StatusChanged, StatusSource, encode, make_event
from orderlens.lifecycle import cancel_and_wait
from orderlens.waiting import wait_for
from orderlens_connector.adapters.ratelimit import Limiter
from orderlens_connector.adapters.shop_store import ShopStore, key_ring
from orderlens_connector.adapters.tiktok_client import TikTokClient, TokenGrant
from orderlens_connector.app import create_app, run_action_worker, run_notification_worker
from orderlens_connector.settings import ConnectorSettings
from orderlens_devtools.devstack.topics import delete_topics, ensure_topics

pytestmark = pytest.mark.integration

KEY, SECRET = "act-app", "act-secret"


def seller(order: dict[str, Any], shop_id: str, status: OrderStatus, **extra: Any) -> Any:
    data = StatusChanged(
        order_id=order["id"],
        shop_id=shop_id,
        occurred_at=datetime.now(UTC),
        source=StatusSource.SELLER,
        status=status,
        **extra,
    )
    return make_event(data, source="orderlens/query-api", subject=order["id"])


async def test_ship_reaches_tiktok_once_and_the_webhook_brings_it_shipped(
    simulator_factory: Any,
    kafka_bootstrap_servers: str,
    mongo_db: Any,
    mongodb_uri: str,
    unique_id: str,
) -> None:
    topics = {
        "n": f"tiktok.notifications-{unique_id}",
        "c": f"orders.created-{unique_id}",
        "s": f"orders.status-changed-{unique_id}",
    }
    await ensure_topics(kafka_bootstrap_servers, list(topics.values()), partitions=3)
    settings = ConnectorSettings(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        mongodb_uri=mongodb_uri,
        mongodb_database=mongo_db.name,
        topic_tiktok_notifications=topics["n"],
        topic_orders_created=topics["c"],
        topic_status_changed=topics["s"],
        tiktok_app_key=KEY,
        tiktok_app_secret=SECRET,  # type: ignore[arg-type]
        actions_group_id=f"actions-{unique_id}",
    )
    server, task, connector_url = await serve(create_app(settings))
    running = await simulator_factory(
        app_key=KEY,
        app_secret=SECRET,
        webhook_url=f"{connector_url}/webhooks/tiktok",
        duplicate_rate=0.0,
        late_rate=0.0,
    )
    settings = settings.model_copy(
        update={"tiktok_api_base_url": running.url, "tiktok_auth_base_url": running.url}
    )
    keys = Fernet.generate_key().decode()
    state = running.sim.state
    shop = state.add_shop("Demo")
    shipped, marker, refused = (state.new_order(shop.id) for _ in range(3))
    state.set_status(refused, "CANCELLED")  # cancelled in TikTok meanwhile: ship is refused
    async with httpx.AsyncClient() as http:
        oauth = TikTokClient(
            http,
            app_key=KEY,
            app_secret=SECRET,
            api_base_url=running.url,
            auth_base_url=running.url,
            limiter=Limiter(10, 10),
        )
        consent = await http.get(f"{running.url}/oauth/authorize", params={"app_key": KEY})
        grant = await oauth.token_get(consent.json()["data"]["code"])

        async def no_refresh(token: str) -> TokenGrant:
            raise AssertionError("not expected")

        shops = await oauth.authorized_shops(grant.access_token)
        await ShopStore(mongo_db, key_ring(keys), no_refresh).connect(shops, grant)

    package = PackageUpdate(carrier="royal-mail", tracking_number="RM123456789GB")
    ship = seller(shipped, shop.id, OrderStatus.AWAITING_COLLECTION, package=package)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    workers = [
        asyncio.create_task(run_action_worker(settings, keys)),
        asyncio.create_task(run_notification_worker(settings, keys)),
    ]
    consumer = AIOKafkaConsumer(
        topics["c"],
        topics["s"],
        bootstrap_servers=kafka_bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        await producer.send_and_wait(topics["s"], encode(ship), key=shipped["id"].encode())
        await producer.send_and_wait(topics["s"], encode(ship), key=shipped["id"].encode())  # again
        refused_ship = seller(refused, shop.id, OrderStatus.AWAITING_COLLECTION, package=package)
        await producer.send_and_wait(topics["s"], encode(refused_ship))
        last = seller(marker, shop.id, OrderStatus.AWAITING_COLLECTION, package=package)
        await producer.send_and_wait(topics["s"], encode(last), key=shipped["id"].encode())

        async def marker_shipped() -> bool:
            return any(r["package_id"] == marker["packages"][0]["id"] for r in state.ship_requests)

        await wait_for(marker_shipped, 60, "the marker's ship request reached the simulator")
        snapshot: dict[str, Any] | None = None
        refusal: dict[str, Any] | None = None
        async with asyncio.timeout(60):
            async for record in consumer:
                event = json.loads(record.value or b"")
                data = event["data"]
                if record.topic == topics["c"] and data["order"]["id"] == shipped["id"]:
                    snapshot = data["order"]
                if record.topic == topics["s"] and data["source"] == "system":
                    refusal = data
                if snapshot is not None and refusal is not None:
                    break
    finally:
        assert not await cancel_and_wait(*workers), "a connector worker did not stop"
        await consumer.stop()
        await producer.stop()
        await stop(server, task)
        await delete_topics(kafka_bootstrap_servers, list(topics.values()))

    to_shipped = [r for r in state.ship_requests if r["package_id"] == shipped["packages"][0]["id"]]
    assert len(to_shipped) == 1  # delivered twice, reached TikTok once
    assert to_shipped[0]["self_shipment"] == {
        "tracking_number": "RM123456789GB",
        "shipping_provider_id": "royal-mail",
    }
    assert snapshot["status"] == "AWAITING_COLLECTION"
    assert snapshot["line_items"][0]["tracking_number"] == "RM123456789GB"
    assert refusal["order_id"] == refused["id"]
    assert refusal["status"] == "CANCELLED"
    assert "refused ship" in refusal["reason"]
    record = await mongo_db["tiktok_actions"].find_one({"_id": refused_ship.id})
    assert record["state"] == "refused"
