"""POST /webhooks/tiktok over real HTTP into real Kafka: verified first, durable, then 200."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from conn_support import serve, stop

from orderlens.tiktok_signing import webhook_signature
from orderlens_connector.app import create_app
from orderlens_connector.settings import ConnectorSettings
from orderlens_devtools.devstack.topics import delete_topics, ensure_topics

pytestmark = pytest.mark.integration

KEY, SECRET = "hook-app", "hook-secret"


def body(notification_id: str, order_id: str = "5760000000000000001") -> bytes:
    return json.dumps(
        {
            "type": 1,
            "tts_notification_id": notification_id,
            "shop_id": "7000000000000000001",
            "timestamp": 1700000000,
            "data": {"order_id": order_id, "order_status": "AWAITING_SHIPMENT"},
        }
    ).encode()


@pytest_asyncio.fixture
async def connector(kafka_bootstrap_servers: str, unique_id: str) -> AsyncIterator[Any]:
    topic = f"tiktok.notifications-{unique_id}"
    await ensure_topics(kafka_bootstrap_servers, [topic], partitions=3)
    settings = ConnectorSettings(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        topic_tiktok_notifications=topic,
        tiktok_app_key=KEY,
        tiktok_app_secret=SECRET,  # type: ignore[arg-type]
    )
    server, task, url = await serve(create_app(settings))
    yield url, topic
    await stop(server, task)
    await delete_topics(kafka_bootstrap_servers, [topic])


async def read_until(bootstrap: str, topic: str, marker: str) -> list[bytes]:
    """Everything in the topic up to and including the notification `marker`."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    seen: list[bytes] = []
    try:
        async for record in consumer:
            assert record.value is not None
            seen.append(record.value)
            if json.loads(record.value)["tts_notification_id"] == marker:
                return seen
    finally:
        await consumer.stop()
    return seen


async def test_only_verified_notifications_are_written_and_answered_200(
    connector: Any, kafka_bootstrap_servers: str
) -> None:
    url, topic = connector
    genuine = body("n-1")
    changed = body("n-1", order_id="5760000000000000999")
    async with httpx.AsyncClient(base_url=url) as http:

        async def post(raw: bytes, signature: str | None) -> int:
            headers = {"content-type": "application/json"}
            if signature is not None:
                headers["authorization"] = signature
            return (await http.post("/webhooks/tiktok", content=raw, headers=headers)).status_code

        assert await post(genuine, webhook_signature(KEY, SECRET, genuine)) == 200
        assert await post(body("n-2"), None) == 401  # unsigned
        assert await post(body("n-3"), webhook_signature(KEY, "wrong", body("n-3"))) == 401
        # The genuine signature replayed on a changed body.
        assert await post(changed, webhook_signature(KEY, SECRET, genuine)) == 401
        unparseable = b'{"type": 1, "shop_id": '
        assert await post(unparseable, webhook_signature(KEY, SECRET, unparseable)) == 400
        missing_id = json.dumps({"type": 1, "shop_id": "1", "timestamp": 1}).encode()
        refused = await http.post(
            "/webhooks/tiktok",
            content=missing_id,
            headers={"authorization": webhook_signature(KEY, SECRET, missing_id)},
        )
        assert refused.status_code == 400
        assert "tts_notification_id" in refused.json()["title"]
        assert await post(body("marker"), webhook_signature(KEY, SECRET, body("marker"))) == 200

    written = await read_until(kafka_bootstrap_servers, topic, "marker")
    # Byte for byte what TikTok sent, and nothing that failed a check.
    assert written == [genuine, body("marker")]
