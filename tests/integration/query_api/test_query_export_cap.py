"""The per-caller cap on pending exports holds under concurrent requests (issue 17 #4)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from pymongo import AsyncMongoClient
from qa_api import Api, start_api
from qa_orders import NOW, make_orders

from orderlens.roles import Role
from orderlens_query.services.exports import MAX_PENDING_PER_CALLER


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


async def test_a_replay_of_an_answer_stored_by_a_newer_replica_answers_it(api: Api) -> None:
    """A newer replica may have stored an answer with fields this one does not know: the
    replay answers the fields it knows, not 500 (decision 0079)."""
    headers = {**api.auth(Role.ADMIN), "Idempotency-Key": f"newer-{uuid.uuid4()}"}
    body = {"format": "xlsx"}
    first = await api.client.post("/v1/exports", json=body, headers=headers)
    assert first.status_code == 202, first.text
    updated = await api.db.idempotency_keys.update_one(
        {"_id": {"$regex": "newer-"}, "response.export_id": first.json()["export_id"]},
        {"$set": {"response.estimated_rows": 12, "response.links": {"self": "/x"}}},
    )
    assert updated.modified_count == 1
    again = await api.client.post("/v1/exports", json=body, headers=headers)
    assert again.status_code == 202, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    other = await api.client.post("/v1/exports", json={"format": "csv"}, headers=headers)
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["detail"]
    exports = await api.db.exports.count_documents({"requested_by": "test-admin"})
    assert exports == 1


async def test_the_export_list_pages_newest_first_with_signed_cursors(api: Api) -> None:
    headers = api.auth(Role.OPERATIONS)
    made = []
    for _ in range(5):
        response = await api.client.post("/v1/exports", json={"format": "csv"}, headers=headers)
        assert response.status_code == 202, response.text
        made.append(response.json()["export_id"])
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await api.client.get("/v1/exports", params=params, headers=headers)
        assert page.status_code == 200, page.text
        seen.extend(item["export_id"] for item in page.json()["items"])
        cursor = page.json()["next_cursor"]
        pages += 1
        if cursor is None:
            break
        last = cursor
    assert pages == 3
    records = api.db.exports.find({"requested_by": "test-operations"}).sort(
        [("created_at", -1), ("_id", -1)]
    )
    assert seen == [doc["_id"] async for doc in records]
    assert sorted(seen) == sorted(made)
    body, _, signature = last.partition(".")
    forged = f"{body}.{'A' * len(signature)}"
    tampered = await api.client.get("/v1/exports", params={"cursor": forged}, headers=headers)
    assert tampered.status_code == 400
    assert tampered.json()["errors"][0]["param"] == "cursor"
