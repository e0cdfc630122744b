"""Keyset paging through thousands of orders while new orders arrive: every order that existed
throughout comes back exactly once, and no order twice."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime

import pytest_asyncio
from qa_api import Api, page_while_inserting
from qa_orders import NOW, make_orders

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
