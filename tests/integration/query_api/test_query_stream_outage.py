"""GET /v1/orders/stream with Kafka down (its bootstrap address a closed port): a 503 problem
with Retry-After before anything is streamed, as every other outage answers (docs/contract.md
§5.6, docs/decisions/0206)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.asgi import free_port, serve
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def api_without_kafka(mongodb_uri: str, mongo_db_name: str) -> AsyncIterator[str]:
    settings = QueryApiSettings(
        # Nothing listens there: the broker is down.
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
        mongodb_uri=mongodb_uri,
        mongodb_database=mongo_db_name,
        log_json=False,
    )
    async with serve(create_app(settings), free_port()) as url:
        yield url


async def test_the_order_stream_answers_503_with_retry_after_when_kafka_is_down(
    api_without_kafka: str,
) -> None:
    token = mint_token(sub="outage", role=Role.ADMIN, shops=["shop-1"], secret=LOCAL_DEV_SECRET)
    async with httpx.AsyncClient(base_url=api_without_kafka, timeout=60) as client:
        response = await client.get(
            "/v1/orders/stream", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert problem["status"] == 503
    assert "Kafka" in problem["detail"]
