"""The query-api under test: the app on a real MongoDB-wire server, and a client for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from qa_orders import NOW, documents, make_orders

from orderlens.domain.order import Order
from orderlens.indexes import ensure_indexes
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

# Nothing listens here: tests of reads need no broker (the app retries in the background).
NO_KAFKA = "127.0.0.1:1"


@dataclass
class Api:
    client: httpx.AsyncClient
    db: AsyncDatabase[dict[str, Any]]
    orders: list[Order]
    shops: list[str]

    def token(self, role: Role | str = Role.ADMIN, shops: list[str] | None = None) -> str:
        token: str = mint_token(
            sub=f"test-{role}", role=role, shops=shops or self.shops, secret=LOCAL_DEV_SECRET
        )
        return token

    def auth(self, role: Role | str = Role.ADMIN, shops: list[str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, shops)}"}

    async def get(
        self, path: str, params: Any = None, role: Role | str = Role.ADMIN, **kwargs: Any
    ) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.auth(role), **kwargs)

    async def all_ids(self, params: list[tuple[str, str]], role: Role = Role.ADMIN) -> list[str]:
        """Every order id of the filtered list, page after page."""
        ids: list[str] = []
        cursor: str | None = None
        while True:
            page_params = [*params, ("limit", "200")] + ([("cursor", cursor)] if cursor else [])
            response = await self.get("/v1/orders", page_params, role)
            assert response.status_code == 200, response.text
            body = response.json()
            ids.extend(item["id"] for item in body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return ids


async def start_api(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    mongodb_uri: str,
    orders: list[Order],
    shops: list[str],
    *,
    kafka: str = NO_KAFKA,
    topic_status_changed: str = "orders.status-changed",
) -> AsyncIterator[Api]:
    db_name = f"qa_{uuid.uuid4().hex[:10]}"
    db = mongo_client[db_name]
    await ensure_indexes(db)
    if orders:
        await db.orders.insert_many(documents(orders))
    settings = QueryApiSettings(
        mongodb_uri=mongodb_uri,
        mongodb_database=db_name,
        kafka_bootstrap_servers=kafka,
        topic_status_changed=topic_status_changed,
        log_json=False,
        # Correctness, not latency, is under test: FerretDB scans on a shared 2-core machine.
        query_max_time_ms=120_000,
    )
    app = create_app(settings)
    try:
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://qa") as client:
                yield Api(client, db, orders, shops)
    finally:
        await mongo_client.drop_database(db_name)


async def page_while_inserting(api: Api, sort: str, seed: int, limit: int) -> list[str]:
    """Every id of the list in `sort` order, inserting 50 new orders after each page."""
    newcomers, _ = make_orders(400, seed=seed, shops=len(api.shops), end=NOW)
    # Some newcomers are unpaid, so paging by paid_at crosses nulls as well.
    newcomers = [
        o.model_copy(update={"paid_at": None}) if i % 3 == 0 else o for i, o in enumerate(newcomers)
    ]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": str(limit), "sort": sort, **({"cursor": cursor} if cursor else {})}
        response = await api.get("/v1/orders", params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            break
        batch, newcomers = newcomers[:50], newcomers[50:]
        if batch:
            await api.db.orders.insert_many(documents(batch))
    assert pages >= 8
    return seen
