"""Export test fixtures: a module's own stack (exporter + query-api) over seeded orders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from exp_orders import make_orders
from exp_stack import ExportStack, start_stack
from pymongo import AsyncMongoClient


@pytest_asyncio.fixture(scope="module")
async def stack(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    mongodb_uri: str,
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ExportStack]:
    """The exporter and query-api over 300 seeded orders of 3 shops."""
    orders, shops = make_orders(300, seed=5)
    async for running in start_stack(
        mongo_client,
        mongodb_uri,
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("exports"),
        orders=orders,
        shops=shops,
    ):
        yield running
