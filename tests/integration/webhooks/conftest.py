"""The webhook dispatcher in the test's event loop, on the session's real Kafka and MongoDB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiokafka import AIOKafkaProducer
from wh_support import StartDispatcher

from orderlens_devtools.devstack import TopicNames
from orderlens_webhooks.app import WebhookDispatcher, build
from orderlens_webhooks.settings import DispatcherSettings


@pytest_asyncio.fixture
async def producer(kafka_bootstrap_servers: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


@pytest_asyncio.fixture
async def dispatcher_settings(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db: Any,
    topic_names: TopicNames,
    unique_id: str,
) -> DispatcherSettings:
    return DispatcherSettings(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        mongodb_uri=mongodb_uri,
        mongodb_database=mongo_db.name,
        topic_orders_created=topic_names.created,
        topic_status_changed=topic_names.status_changed,
        topic_dead_letter=topic_names.dead_letter,
        webhook_group_id=f"webhooks-{unique_id}",
        http_port=0,
        log_json=False,
        # Seconds instead of hours, so that a test sees retries, recovery and parking.
        webhook_retry_base_seconds=0.05,
        webhook_retry_cap_seconds=0.3,
        webhook_retry_max_age_seconds=60,
        webhook_poll_seconds=0.2,
        webhook_lease_seconds=3,
        webhook_timeout_seconds=5,
        webhook_allow_http=True,
        webhook_allow_internal=True,
    )


@pytest_asyncio.fixture
async def start_dispatcher(
    dispatcher_settings: DispatcherSettings,
) -> AsyncIterator[StartDispatcher]:
    started: list[WebhookDispatcher] = []

    async def start(**overrides: Any) -> WebhookDispatcher:
        settings = dispatcher_settings.model_copy(update=overrides)
        service = build(settings, replica=f"test-{len(started)}")
        started.append(service)
        await service.start()
        return service

    yield start
    for service in reversed(started):
        await service.stop()
