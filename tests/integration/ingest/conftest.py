"""order-ingest fixtures: the service in-process on the session's real Kafka and MongoDB-wire
server, under the test's own topics, consumer group and database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from ing_support import Publisher, StartIngest

from orderlens_devtools.devstack import TopicNames
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings


@pytest.fixture
def ingest_settings(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
) -> Callable[..., IngestSettings]:
    """`ingest_settings(**overrides)`: settings of a replica for this test."""

    def make(**overrides: Any) -> IngestSettings:
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": kafka_bootstrap_servers,
            "mongodb_uri": mongodb_uri,
            "mongodb_database": mongo_db_name,
            "topic_orders_created": topic_names.created,
            "topic_status_changed": topic_names.status_changed,
            "topic_dead_letter": topic_names.dead_letter,
            "ingest_group_id": f"ingest-{unique_id}",
            "ingest_max_records": 100,
            "http_host": "127.0.0.1",
            "http_port": 0,
            "log_json": False,
            **overrides,
        }
        return IngestSettings(**values)

    return make


@pytest_asyncio.fixture
async def start_ingest(
    ingest_settings: Callable[..., IngestSettings],
) -> AsyncIterator[StartIngest]:
    """`await start_ingest(**overrides)`: a started replica, stopped after the test."""
    apps: list[IngestApp] = []

    async def start(**overrides: Any) -> IngestApp:
        app = IngestApp(ingest_settings(**overrides))
        await app.start()
        apps.append(app)
        return app

    yield start
    for app in apps:
        await app.stop()


@pytest_asyncio.fixture
async def publisher(
    kafka_bootstrap_servers: str, topic_names: TopicNames
) -> AsyncIterator[Publisher]:
    publisher = Publisher(kafka_bootstrap_servers, topic_names)
    await publisher.start()
    yield publisher
    await publisher.stop()
