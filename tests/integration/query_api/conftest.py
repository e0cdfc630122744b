"""query-api test fixtures: the app on a real MongoDB-wire server (and Kafka where needed),
with a few thousand seeded orders written straight into a database of the module's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from pymongo import AsyncMongoClient
from qa_api import Api, start_api
from qa_orders import NOW, make_orders

from orderlens.domain.order import Order

# FerretDB 1.24 (SQLite) scans the whole collection for every query: keep it small.
ORDERS = 800


@pytest_asyncio.fixture(scope="module")
async def seeded_orders() -> tuple[list[Order], list[str]]:
    return make_orders(ORDERS, seed=7, shops=4, end=NOW)


@pytest_asyncio.fixture(scope="module")
async def api(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    mongodb_uri: str,
    seeded_orders: tuple[list[Order], list[str]],
) -> AsyncIterator[Api]:
    """The app over `ORDERS` seeded orders of 4 shops (USD, GBP, MYR, JPY)."""
    orders, shops = seeded_orders
    async for running in start_api(mongo_client, mongodb_uri, orders, shops):
        yield running
