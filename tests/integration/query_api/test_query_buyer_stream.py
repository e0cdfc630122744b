"""GET /v1/me/orders/{order_id}/stream and /v1/me/orders/stream over real HTTP, a real Kafka
broker and a MongoDB-wire server: a buyer follows one of their own orders, or all of them, and
nothing else; another buyer's order is 404; the sellers' stream is closed to buyer tokens (it
would show every order of the shop)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase
from qa_orders import NOW, documents, make_orders
from test_query_stream import Sse

from orderlens.domain.buyer import SELLER_ONLY_FIELDS
from orderlens.domain.order import Buyer, Order
from orderlens.domain.status import TrackingStatus
from orderlens.events import PackageUpdate, StatusChanged, StatusSource, encode, make_event
from orderlens.indexes import ensure_indexes
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.asgi import free_port, serve
from orderlens_devtools.devstack import TopicNames
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

pytestmark = pytest.mark.integration
ANA, BEN = "7101", "7102"


@pytest_asyncio.fixture
async def orders(mongo_db: AsyncDatabase[dict[str, Any]]) -> list[Order]:
    """Two orders of Ana's and one of Ben's, in the same shop."""
    made, _ = make_orders(3, seed=21, shops=1, end=NOW)
    owned = [
        order.model_copy(update={"buyer": Buyer(user_id=owner, email=f"{owner}@example.com")})
        for order, owner in zip(made, (ANA, ANA, BEN), strict=True)
    ]
    await ensure_indexes(mongo_db)
    await mongo_db.orders.insert_many(documents(owned))
    return owned


@pytest_asyncio.fixture
async def api_url(
    orders: list[Order],
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
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


def buyer(user_id: str, shops: list[str]) -> dict[str, str]:
    token = mint_token(
        sub=f"buyer:{user_id}",
        role=Role.BUYER,
        shops=shops,
        buyer_user_id=user_id,
        secret=LOCAL_DEV_SECRET,
    )
    return {"Authorization": f"Bearer {token}"}


async def publish_parcel_updates(
    bootstrap: str, topic: str, orders: list[Order], key: bytes | None = None
) -> None:
    """One carrier update per order; with `key`, all on that key's one partition, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for order in orders:
            event = make_event(
                StatusChanged(
                    order_id=order.id,
                    shop_id=order.shop_id,
                    occurred_at=datetime.now(UTC),
                    source=StatusSource.CARRIER,
                    package=PackageUpdate(
                        tracking_number=f"T{order.id}", tracking_status=TrackingStatus.IN_TRANSIT
                    ),
                ),
                source="tests",
                subject=order.id,
            )
            await producer.send_and_wait(topic, encode(event), key=key or order.id.encode())
    finally:
        await producer.stop()


async def test_a_buyer_streams_only_their_own_order(
    api_url: str, orders: list[Order], kafka_bootstrap_servers: str, topic_names: TopicNames
) -> None:
    followed, anas_other, bens = orders
    ana = buyer(ANA, [followed.shop_id])
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=60) as client,
        client.stream("GET", f"/v1/me/orders/{followed.id}/stream", headers=ana) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        sse = Sse(response)
        assert (await sse.next(events_only=False))["event"] == "ready"
        # Ben's order and Ana's other order go first: receiving the followed one's next proves
        # both were left out.
        await publish_parcel_updates(
            kafka_bootstrap_servers, topic_names.status_changed, [bens, anas_other, followed]
        )
        event = await sse.next()
    data = json.loads(event["data"])
    assert data["order_id"] == followed.id
    assert data["kind"] == "status_changed"
    assert not ({"buyer", "recipient", "email"} | SELLER_ONLY_FIELDS) & set(data)


async def test_a_buyers_list_stream_carries_all_their_orders_and_no_one_elses(
    api_url: str, orders: list[Order], kafka_bootstrap_servers: str, topic_names: TopicNames
) -> None:
    first, second, bens = orders
    ana = buyer(ANA, [first.shop_id])
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=60) as client,
        client.stream("GET", "/v1/me/orders/stream", headers=ana) as response,
    ):
        assert response.status_code == 200
        sse = Sse(response)
        assert (await sse.next(events_only=False))["event"] == "ready"
        # One partition, Ben's before and between Ana's two: hers arriving one after the other
        # proves his were left out.
        await publish_parcel_updates(
            kafka_bootstrap_servers,
            topic_names.status_changed,
            [bens, first, bens, second],
            key=b"one-partition",
        )
        got = [json.loads((await sse.next())["data"])["order_id"] for _ in range(2)]
    assert got == [first.id, second.id]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        seller_token = mint_token(
            sub="s", role=Role.ADMIN, shops=[first.shop_id], secret=LOCAL_DEV_SECRET
        )
        seller = {"Authorization": f"Bearer {seller_token}"}
        assert (await opened(client, "/v1/me/orders/stream", seller))[0] == 403
        assert (await opened(client, "/v1/me/orders/stream", {}))[0] == 401


async def opened(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> tuple[int, str, Any]:
    """Status, content type and problem body of a stream request, read without waiting on an
    open stream's body (a stream wrongly opened answers 200 and is closed at once)."""
    async with client.stream("GET", path, headers=headers) as response:
        if response.status_code == 200:
            return 200, response.headers["content-type"], None
        await response.aread()
        return response.status_code, response.headers["content-type"], response.json()


async def test_another_buyers_order_and_the_sellers_stream_are_refused_to_a_buyer(
    api_url: str, orders: list[Order]
) -> None:
    followed, _, bens = orders
    ana = buyer(ANA, [followed.shop_id])
    seller_token = mint_token(
        sub="s", role=Role.ADMIN, shops=[followed.shop_id], secret=LOCAL_DEV_SECRET
    )
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        status, content_type, _ = await opened(client, f"/v1/me/orders/{bens.id}/stream", ana)
        assert status == 404
        assert content_type.startswith("application/problem+json")
        # Ana's order seen with a token of another shop is not hers to follow either.
        elsewhere = buyer(ANA, ["7999999999"])
        assert (await opened(client, f"/v1/me/orders/{followed.id}/stream", elsewhere))[0] == 404
        # The sellers' stream would show every order of the shop: a buyer token gets 403.
        assert (await opened(client, "/v1/orders/stream", ana))[0] == 403
        seller = {"Authorization": f"Bearer {seller_token}"}
        assert (await opened(client, f"/v1/me/orders/{followed.id}/stream", seller))[0] == 403
        bad = {**ana, "Last-Event-ID": "nope"}
        status, _, problem = await opened(client, f"/v1/me/orders/{followed.id}/stream", bad)
        assert status == 400
        assert "Last-Event-ID" in problem["detail"]
        assert (await opened(client, f"/v1/me/orders/{followed.id}/stream", {}))[0] == 401
