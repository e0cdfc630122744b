"""The conformance suite runs against whatever MongoDB-wire server the tests are given
(`MONGODB_URI`, else the local mongo-java-server): run it first against a real MongoDB."""

from __future__ import annotations

from typing import Any

import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.capabilities import ServerCapabilities


@pytest_asyncio.fixture
async def capabilities(mongo_db: AsyncDatabase[dict[str, Any]]) -> ServerCapabilities:
    return await ServerCapabilities.read(mongo_db)
