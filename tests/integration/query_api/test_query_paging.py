"""Keyset paging through thousands of orders while new orders arrive: every order that existed
throughout comes back exactly once, and no order twice."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime

import pytest_asyncio
from qa_api import Api, page_while_inserting
from qa_orders import NOW, documents, make_orders

from orderlens.domain.order import Order


@pytest_asyncio.fixture(scope="module")
async def seeded_orders() -> tuple[list[Order], list[str]]:
    return make_orders(2000, seed=21, shops=3, end=NOW)


async def test_each_order_once_while_orders_are_inserted(api: Api) -> None:
    seen = await page_while_inserting(api, "-created_at", seed=22, limit=200)
    duplicates = [order_id for order_id, n in Counter(seen).items() if n > 1]
    assert duplicates == []
    assert {o.id for o in api.orders} <= set(seen)


def test_newcomers_fall_before_and_after_the_cursor() -> None:
    """The inserted orders are spread over the same two months, so some land behind the
    cursor and some ahead of it: the test above exercises both."""
    newcomers, _ = make_orders(400, seed=22, shops=3, end=NOW)
    middle = datetime.fromtimestamp((NOW.timestamp() * 2 - 60 * 86400) / 2, UTC)
    assert any(o.created_at < middle for o in newcomers)
    assert any(o.created_at > middle for o in newcomers)


async def test_a_forged_or_tampered_cursor_answers_400(api: Api) -> None:
    """issue 17 #5: out-of-range keys, forged payloads and edited signatures are 400, not 500."""
    first = await api.get("/v1/orders", {"sort": "total", "limit": "5"})
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert (await api.get("/v1/orders", {"sort": "total", "cursor": cursor})).status_code == 200

    body, _, signature = cursor.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    overflow = {**payload, "k": 10**30}
    forged_body = base64.urlsafe_b64encode(json.dumps(overflow).encode()).decode().rstrip("=")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (forged_body, f"{forged_body}.{signature}", f"{body}.{flipped}", body):
        response = await api.get("/v1/orders", {"sort": "total", "cursor": bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "cursor" in response.text


async def test_the_first_page_asked_again_shows_the_orders_as_they_are_now(api: Api) -> None:
    """query-api narrows a page it has read before by a learned bound where the server sorts
    every match (docs/decisions/0200): asked again after newer orders arrived and the newest
    were deleted, the page is still exactly the newest orders of the token's shops."""
    newcomers, _ = make_orders(30, seed=23, shops=len(api.shops), end=NOW)

    async def newest(key: str) -> list[str]:
        cursor = api.db.orders.find({"shop_id": {"$in": api.shops}}, {"_id": 1})
        rows = await cursor.sort([(key, -1), ("_id", -1)]).limit(20).to_list()
        return [row["_id"] for row in rows]

    async def shown(sort: str) -> list[str]:
        response = await api.get("/v1/orders", {"sort": sort, "limit": "20"})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    for sort, key in (("-created_at", "created_at"), ("-total", "money.total")):
        assert await shown(sort) == await newest(key)
        assert await shown(sort) == await newest(key)  # read through the bound it learned
        batch, newcomers = newcomers[:15], newcomers[15:]
        await api.db.orders.insert_many(documents(batch))
        assert await shown(sort) == await newest(key)
        await api.db.orders.delete_many({"_id": {"$in": (await newest(key))[:8]}})
        assert await shown(sort) == await newest(key)
        assert await shown(sort) == await newest(key)
