"""schemathesis against /openapi.json, in-process, on a real MongoDB-wire server: no 5xx, every
status, content type and body as documented."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from pymongo import AsyncMongoClient
from qa_orders import NOW, documents, make_orders
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orderlens.indexes import ensure_indexes
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.devstack.proc import wait_until
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ORDERS, SHOPS = make_orders(60, seed=41, shops=2, end=NOW)


async def _seed(uri: str, name: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        await ensure_indexes(client[name])
        await client[name].orders.insert_many(documents(ORDERS))
    finally:
        await client.close()


async def _drop(uri: str, name: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        await client.drop_database(name)
    finally:
        await client.close()


@pytest.fixture(scope="module")
def api_schema(mongodb_uri: str, kafka_bootstrap_servers: str) -> Iterator[Any]:
    """The schema of an app on real servers, ready (so /readyz answers 200, not 503)."""
    name = f"qa_st_{uuid.uuid4().hex[:8]}"
    # The app runs in schemathesis' own event-loop thread; seed from a loop of our own.
    runner = asyncio.Runner()
    runner.run(_seed(mongodb_uri, name))
    settings_ = QueryApiSettings(
        mongodb_uri=mongodb_uri,
        mongodb_database=name,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        # Topics of its own: nothing this run publishes can reach another test's consumer.
        topic_status_changed=f"orders.status-changed.{name}",
        topic_export_requested=f"orders.export-requested.{name}",
        query_max_time_ms=120_000,
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings_))
    client = asgi.get_client(schema.app)
    wait_until(lambda: client.get("/readyz").status_code == 200, timeout=60, what="query-api")
    yield schema
    runner.run(_drop(mongodb_uri, name))
    runner.close()


TOKEN = mint_token(sub="schemathesis", role=Role.ADMIN, shops=SHOPS, secret=LOCAL_DEV_SECRET)
# schemathesis' own pytest plugin does not run on pytest 9 (it reads `request.node._nodeid`), so
# each operation gets a plain Hypothesis test of its own, with valid and invalid inputs.
EXAMPLES = 6


def test_the_api_matches_its_openapi_document(api_schema: Any) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(
                generation_mode=mode, headers={"Authorization": f"Bearer {TOKEN}"}
            )

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def conforms(case: Any) -> None:
                case.call_and_validate(checks=CHECKS)

            try:
                conforms()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label  # nothing to invalidate
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert failures == [], "\n\n".join(failures)
