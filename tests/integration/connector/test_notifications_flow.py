"""Simulator webhooks → connector (real HTTP) → tiktok.notifications → worker → orders.created."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from conn_support import serve, stop
from cryptography.fernet import Fernet

from orderlens.lifecycle import cancel_and_wait
from orderlens.tiktok import TikTokOrder
from orderlens_connector.adapters.ratelimit import Limiter
from orderlens_connector.adapters.shop_store import ShopStore, key_ring
from orderlens_connector.adapters.tiktok_client import TikTokClient, TokenGrant
from orderlens_connector.app import create_app, run_notification_worker
from orderlens_connector.settings import ConnectorSettings
from orderlens_devtools.devstack.topics import delete_topics, ensure_topics

pytestmark = pytest.mark.integration

KEY, SECRET = "flow-app", "flow-secret"


async def test_webhook_storm_every_order_published_newest_state_under_limits(
    simulator_factory: Any,
    kafka_bootstrap_servers: str,
    mongo_db: Any,
    mongodb_uri: str,
    unique_id: str,
) -> None:
    notifications, created = f"tiktok.notifications-{unique_id}", f"orders.created-{unique_id}"
    await ensure_topics(kafka_bootstrap_servers, [notifications, created], partitions=3)
    settings = ConnectorSettings(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        mongodb_uri=mongodb_uri,
        mongodb_database=mongo_db.name,
        topic_tiktok_notifications=notifications,
        topic_orders_created=created,
        tiktok_app_key=KEY,
        tiktok_app_secret=SECRET,  # type: ignore[arg-type]
        tiktok_app_rate=40,
        tiktok_shop_rate=15,
    )
    server, task, connector_url = await serve(create_app(settings))
    running = await simulator_factory(
        app_key=KEY,
        app_secret=SECRET,
        webhook_url=f"{connector_url}/webhooks/tiktok",
        app_rate=50,
        shop_rate=20,
        duplicate_rate=0.2,
        late_rate=0.2,
    )
    settings = settings.model_copy(
        update={"tiktok_api_base_url": running.url, "tiktok_auth_base_url": running.url}
    )
    keys = Fernet.generate_key().decode()
    shop = running.sim.state.add_shop("Demo")

    # Connect the shop the way a seller does: consent, code exchange, Get Authorized Shops.
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
        shops = await oauth.authorized_shops(grant.access_token)

        async def no_refresh(token: str) -> TokenGrant:
            raise AssertionError("not expected")

        await ShopStore(mongo_db, key_ring(keys), no_refresh).connect(shops, grant)

    worker = asyncio.create_task(run_notification_worker(settings, keys))
    orders = [running.sim.state.new_order(shop.id) for _ in range(300)]
    for order in orders:
        running.sim.notify(1, order)
    for _ in range(700):  # the storm: status changes, address updates, duplicates, late ones
        for kind, order in running.sim.state.progress(shop.id):
            running.sim.notify(kind, order)
    running.sim.flush_late()
    marker = running.sim.state.new_order(shop.id)  # the last one TikTok tells us about
    running.sim.notify(1, marker)

    consumer = AIOKafkaConsumer(
        created, bootstrap_servers=kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    newest: dict[str, dict[str, Any]] = {}
    expected = dict(running.sim.state.orders)
    try:
        async with asyncio.timeout(120):
            async for record in consumer:
                data = json.loads(record.value or b"")["data"]
                assert data["shop_id"] == shop.id
                order = data["order"]
                kept = newest.get(order["id"])
                if kept is None or order["update_time"] >= kept["update_time"]:
                    newest[order["id"]] = order
                done = all(
                    oid in newest and newest[oid]["update_time"] == o["update_time"]
                    for oid, o in expected.items()
                )
                if done and running.sim.outbox.qsize() == 0:
                    break
    finally:
        await consumer.stop()
        assert not await cancel_and_wait(worker), "the connector worker did not stop"
        await stop(server, task)
        await delete_topics(kafka_bootstrap_servers, [notifications, created])

    for oid, order in expected.items():  # what Get Order Detail says now, as the contract keeps it
        wire = TikTokOrder.model_validate(order).model_dump(mode="json")
        assert newest[oid] == wire
    assert running.sim.stats.over_limit == 0
    assert running.sim.stats.webhooks_failed == 0
