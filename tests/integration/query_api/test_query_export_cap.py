"""The per-caller cap on pending exports holds under concurrent requests (issue 17 #4)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from pymongo import AsyncMongoClient
from qa_api import Api, start_api
from qa_orders import NOW, make_orders

from orderlens.roles import Role
from orderlens_query.routes.exports import MAX_PENDING_PER_CALLER


@pytest_asyncio.fixture(scope="module")
async def api(
    mongo_client: AsyncMongoClient[dict[str, Any]], mongodb_uri: str, kafka_bootstrap_servers: str
) -> AsyncIterator[Api]:
    orders, shops = make_orders(5, seed=41, shops=1, end=NOW)
    async for running in start_api(
        mongo_client, mongodb_uri, orders, shops, kafka=kafka_bootstrap_servers
    ):
        yield running


async def test_concurrent_requests_cannot_exceed_the_pending_cap(api: Api) -> None:
    headers = api.auth(Role.ANALYST)

    async def request() -> int:
        response = await api.client.post("/v1/exports", json={"format": "csv"}, headers=headers)
        assert response.status_code in (202, 429), response.text
        return response.status_code

    sequential = [await request() for _ in range(MAX_PENDING_PER_CALLER - 5)]
    assert set(sequential) == {202}
    concurrent = await asyncio.gather(*(request() for _ in range(10)))
    assert Counter(concurrent) == {202: 5, 429: 5}
    pending = await api.db.exports.count_documents({"requested_by": "test-analyst"})
    assert pending == MAX_PENDING_PER_CALLER
