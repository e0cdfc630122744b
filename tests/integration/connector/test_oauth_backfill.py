"""OAuth over real HTTP (connector ↔ simulator), then the backfill to orders.created on real Kafka,
progress and shop state in a real MongoDB-wire server, read back through `GET /shops`."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from conn_support import free_port, serve, stop
from cryptography.fernet import Fernet

from orderlens.lifecycle import cancel_and_wait
from orderlens.tiktok import TikTokOrder
from orderlens.waiting import wait_for
from orderlens_connector.app import create_app, run_notification_worker, run_sync_worker
from orderlens_connector.settings import ConnectorSettings
from orderlens_devtools.devstack.topics import delete_topics, ensure_topics

pytestmark = pytest.mark.integration

KEY, SECRET = "oauth-app", "oauth-secret"
DAY = 86_400


async def _setup(
    simulator_factory: Any,
    kafka: str,
    mongo_db: Any,
    mongodb_uri: str,
    unique_id: str,
    **overrides: Any,
) -> tuple[ConnectorSettings, Any, str, Any, str]:
    notifications, created = f"tiktok.notifications-{unique_id}", f"orders.created-{unique_id}"
    await ensure_topics(kafka, [notifications, created], partitions=3)
    port = free_port()
    connector_url = f"http://127.0.0.1:{port}"
    running = await simulator_factory(
        app_key=KEY,
        app_secret=SECRET,
        webhook_url=f"{connector_url}/webhooks/tiktok",
        duplicate_rate=0.0,
        late_rate=0.0,
        app_rate=overrides.pop("sim_app_rate", 50),
        shop_rate=overrides.pop("sim_shop_rate", 20),
    )
    settings = ConnectorSettings(
        kafka_bootstrap_servers=kafka,
        mongodb_uri=mongodb_uri,
        mongodb_database=mongo_db.name,
        topic_tiktok_notifications=notifications,
        topic_orders_created=created,
        tiktok_app_key=KEY,
        tiktok_app_secret=SECRET,  # type: ignore[arg-type]
        tiktok_api_base_url=running.url,
        tiktok_auth_base_url=running.url,
        tiktok_authorize_url=f"{running.url}/oauth/authorize",
        oauth_redirect_url=f"{connector_url}/oauth/tiktok/callback",
        sync_poll_seconds=0.1,
        **overrides,
    )
    keys = Fernet.generate_key().decode()
    server, task, _ = await serve(create_app(settings, keys), port=port)
    return settings, running, connector_url, (server, task), keys


async def _collect(consumer: AIOKafkaConsumer, want: set[str], within: float) -> dict[str, Any]:
    newest: dict[str, Any] = {}
    async with asyncio.timeout(within):
        async for record in consumer:
            order = json.loads(record.value or b"")["data"]["order"]
            newest[order["id"]] = order
            if want <= set(newest):
                return newest
    return newest


async def test_oauth_connects_the_shop_and_the_backfill_brings_every_order(
    simulator_factory: Any,
    kafka_bootstrap_servers: str,
    mongo_db: Any,
    mongodb_uri: str,
    unique_id: str,
) -> None:
    settings, running, url, served, keys = await _setup(
        simulator_factory,
        kafka_bootstrap_servers,
        mongo_db,
        mongodb_uri,
        unique_id,
        tiktok_shop_rate=4,
        reconcile_seconds=3600,
    )
    state = running.sim.state
    shop = state.add_shop("Demo")
    now = int(time.time())
    inside = [state.new_order(shop.id, at=now - DAY * 80 + i * 600) for i in range(450)]
    too_old = state.new_order(shop.id, at=now - DAY * 120)
    consumer = AIOKafkaConsumer(
        settings.topic_orders_created,
        bootstrap_servers=kafka_bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    worker = asyncio.create_task(run_sync_worker(settings, keys))
    try:
        async with httpx.AsyncClient(follow_redirects=True) as http:
            forged = await http.get(
                f"{url}/oauth/tiktok/callback", params={"code": "x", "state": "1.2.3"}
            )
            assert forged.status_code == 400
            assert "state" in forged.json()["title"]
            assert (await http.get(f"{url}/shops")).json() == {"shops": []}

            # The seller's path: our authorize link → TikTok's consent → our callback.
            link = await http.get(f"{url}/oauth/tiktok/authorize", follow_redirects=False)
            assert link.status_code == 302
            assert link.headers["location"].startswith(f"{running.url}/oauth/authorize?")
            answer = await http.get(f"{url}/oauth/tiktok/authorize")
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"connected": [shop.id]}

            # Mid-backfill the shop's access token expires at TikTok: refreshed, nothing missed.
            first = await _collect(consumer, {inside[0]["id"]}, 30)
            assert len(first) < len(inside), "backfill finished before the token expired"
            state.expire_access_tokens()
            newest = await _collect(consumer, {o["id"] for o in inside} - set(first), 60)
            newest.update(first)

            async def backfill_done() -> bool:
                shops = (await http.get(f"{url}/shops")).json()["shops"]
                return bool(shops) and shops[0]["sync"]["last_success"] is not None

            await wait_for(backfill_done, 30, "backfill recorded as done")
            status = (await http.get(f"{url}/shops")).json()["shops"][0]
            metrics = (await http.get(f"{url}/metrics")).text
    finally:
        assert not await cancel_and_wait(worker), "the connector worker did not stop"
        await consumer.stop()
        await stop(*served)
        await delete_topics(
            kafka_bootstrap_servers,
            [settings.topic_tiktok_notifications, settings.topic_orders_created],
        )

    for order in inside:
        assert newest[order["id"]] == TikTokOrder.model_validate(order).model_dump(mode="json")
    assert too_old["id"] not in newest  # outside the 90-day window
    assert len(state.access_tokens) == 2  # the grant and one refresh
    assert running.sim.stats.over_limit == 0
    assert status["shop_id"] == shop.id
    assert status["state"] == "connected"
    assert status["sync"]["orders_fetched"] >= len(inside)
    assert status["sync"]["cursor_time"] == max(o["update_time"] for o in inside)
    assert status["sync"]["phase"] == "reconcile"
    assert status["sync"]["last_error"] == ""
    assert status["access_token_expires_at"] > now
    assert "token" not in json.dumps({k: v for k, v in status.items() if "expires" not in k})
    lines = metrics.splitlines()
    assert any(
        ln.startswith('orderlens_tiktok_api_calls_total{endpoint="search_orders",result="ok"}')
        for ln in lines
    )
    assert any(
        ln.startswith(
            'orderlens_tiktok_api_calls_total{endpoint="search_orders",result="token_expired"}'
        )
        for ln in lines
    )
    assert f'orderlens_tiktok_shop_connected{{shop_id="{shop.id}"}} 1.0' in lines
    assert any(
        ln.startswith(f'orderlens_tiktok_backfill_lag_seconds{{shop_id="{shop.id}"}}')
        for ln in lines
    )
    expiry = f'orderlens_tiktok_token_expiry_timestamp_seconds{{shop_id="{shop.id}"}}'
    assert any(ln.startswith(expiry) for ln in lines)
    stored = await mongo_db["tiktok_shops"].find_one({"_id": shop.id})
    assert stored["state"] == "connected"


async def test_a_revoked_shop_stops_syncing_and_says_so(
    simulator_factory: Any,
    kafka_bootstrap_servers: str,
    mongo_db: Any,
    mongodb_uri: str,
    unique_id: str,
) -> None:
    settings, running, url, served, keys = await _setup(
        simulator_factory,
        kafka_bootstrap_servers,
        mongo_db,
        mongodb_uri,
        unique_id,
        reconcile_seconds=0.2,
    )
    shop = running.sim.state.add_shop("Demo")
    running.sim.state.new_order(shop.id, at=int(time.time()) - DAY)
    workers = [
        asyncio.create_task(run_sync_worker(settings, keys)),
        asyncio.create_task(run_notification_worker(settings, keys)),
    ]
    try:
        async with httpx.AsyncClient(follow_redirects=True) as http:
            assert (await http.get(f"{url}/oauth/tiktok/authorize")).status_code == 200

            async def shop_status() -> dict[str, Any]:
                return dict((await http.get(f"{url}/shops")).json()["shops"][0])

            async def reconciled() -> bool:
                return (await shop_status())["sync"]["last_success"] is not None

            await wait_for(reconciled, 30, "first window done")
            # The seller removes the app in TikTok Shop: the deauthorization webhook arrives.
            await http.post(f"{running.url}/_sim/shops/{shop.id}/deauthorize")

            async def stopped() -> bool:
                return (await shop_status())["sync"]["phase"] == "stopped"

            await wait_for(stopped, 30, "sync stopped for the revoked shop")
            status = await shop_status()
            searches = running.sim.stats.requests["order"]
            # A later marker: the periodic loop still runs for other shops, not this one.
            other = running.sim.state.add_shop("Other")
            running.sim.state.new_order(other.id, at=int(time.time()) - DAY)
            assert (await http.get(f"{url}/oauth/tiktok/authorize", params={})).status_code == 200

            async def other_synced() -> bool:
                shops = (await http.get(f"{url}/shops")).json()["shops"]
                return any(s["shop_id"] == other.id and s["sync"]["last_success"] for s in shops)

            await wait_for(other_synced, 30, "the other shop synced")
    finally:
        assert not await cancel_and_wait(*workers), "a connector worker did not stop"
        await stop(*served)
        await delete_topics(
            kafka_bootstrap_servers,
            [settings.topic_tiktok_notifications, settings.topic_orders_created],
        )
    assert status["state"] == "revoked"
    assert "deauthoriz" in status["reason"] or "no longer authorizes" in status["reason"]
    assert "revoked" in status["sync"]["last_error"]
    assert searches >= 1
