"""GET /v1/orders/stream over real HTTP and a real Kafka broker: only the token's shops, no buyer
data, and `Last-Event-ID` resumes exactly after the last event received."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from orderlens.events import encode
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.asgi import free_port, serve
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.seed import SeedConfig, created_event, iter_orders, shop_ids
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

pytestmark = pytest.mark.integration
SEED = SeedConfig(orders=12, shops=2, seed=5, days=3, end=datetime(2026, 4, 1, tzinfo=UTC))
SHOP_A, SHOP_B = shop_ids(SEED)


@pytest_asyncio.fixture
async def api_url(
    kafka_bootstrap_servers: str, mongodb_uri: str, mongo_db_name: str, topic_names: TopicNames
) -> AsyncIterator[str]:
    settings = QueryApiSettings(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        mongodb_uri=mongodb_uri,
        mongodb_database=mongo_db_name,
        topic_orders_created=topic_names.created,
        topic_status_changed=topic_names.status_changed,
        log_json=False,
    )
    async with serve(create_app(settings), free_port()) as url:
        yield url


async def publish(bootstrap: str, topic: str, orders: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for order in orders:
            event = created_event(order, final=True)
            await producer.send_and_wait(topic, encode(event), key=event.subject.encode())
    finally:
        await producer.stop()


class Sse:
    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, *, events_only: bool = True) -> dict[str, str]:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if fields and (not events_only or fields.get("event") == "order"):
                    return fields
                fields = {}
                continue
            if line.startswith(":"):
                fields.setdefault("comment", line)
                continue
            name, _, value = line.partition(":")
            fields[name] = value.lstrip(" ")
        raise AssertionError("the stream ended")


def auth(role: Role, shops: list[str]) -> dict[str, str]:
    token = mint_token(sub="stream-test", role=role, shops=shops, secret=LOCAL_DEV_SECRET)
    return {"Authorization": f"Bearer {token}"}


async def test_stream_shows_only_the_tokens_shops_and_resumes_after_last_event_id(
    api_url: str, kafka_bootstrap_servers: str, topic_names: TopicNames
) -> None:
    orders = list(iter_orders(SEED))
    of_a = [o for o in orders if o.shop_id == SHOP_A]
    of_b = [o for o in orders if o.shop_id == SHOP_B]
    headers = auth(Role.ANALYST, [SHOP_A])
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=60) as client,
        client.stream("GET", "/v1/orders/stream", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        sse = Sse(response)
        ready = await sse.next(events_only=False)
        assert ready["event"] == "ready"
        # Shop B's order goes first: receiving shop A's next proves B's was left out.
        await publish(kafka_bootstrap_servers, topic_names.created, [of_b[0], of_a[0]])
        first = await sse.next()
    assert first["event"] == "order"
    data = json.loads(first["data"])
    assert data["order_id"] == of_a[0].order_id
    assert data["shop_id"] == SHOP_A
    assert data["kind"] == "created"
    assert not {"buyer", "recipient", "email"} & set(data)

    await publish(kafka_bootstrap_servers, topic_names.created, [of_b[1], of_a[1]])
    resumed_headers = {**headers, "Last-Event-ID": first["id"]}
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=60) as client,
        client.stream("GET", "/v1/orders/stream", headers=resumed_headers) as response,
    ):
        assert response.status_code == 200
        resumed = json.loads((await Sse(response).next())["data"])
    assert resumed["order_id"] == of_a[1].order_id


async def test_stream_refuses_a_bad_last_event_id_and_no_token(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        bad = await client.get(
            "/v1/orders/stream",
            headers={**auth(Role.ADMIN, [SHOP_A]), "Last-Event-ID": "not-a-position"},
        )
        assert bad.status_code == 400
        assert "Last-Event-ID" in bad.json()["detail"]
        anonymous = await client.get("/v1/orders/stream")
        assert anonymous.status_code == 401
