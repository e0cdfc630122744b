"""Notifier fixtures: the notifier, order-ingest and query-api on the real Kafka and
MongoDB-wire servers, with a file outbox of the test's own (helpers in ntf_support.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from ntf_support import BUYER_PAGES, Stack
from pymongo.asynchronous.database import AsyncDatabase

from orderlens_devtools.devstack import TopicNames
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings
from orderlens_notifier.app import build
from orderlens_notifier.settings import NotifierSettings
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings


@pytest_asyncio.fixture
async def stack(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    mongo_db: AsyncDatabase[dict[str, Any]],
    topic_names: TopicNames,
    unique_id: str,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap_servers,
        "mongodb_uri": mongodb_uri,
        "mongodb_database": mongo_db_name,
        "topic_orders_created": topic_names.created,
        "topic_status_changed": topic_names.status_changed,
        "topic_export_completed": topic_names.export_completed,
        "topic_dead_letter": topic_names.dead_letter,
        "http_host": "127.0.0.1",
        "http_port": 0,
        "log_json": False,
    }
    outbox = tmp_path / "outbox"
    settings = NotifierSettings(
        **common,
        notifier_group_id=f"notifier-{unique_id}",
        notifier_exports_group_id=f"notifier-exports-{unique_id}",
        notifier_batch_timeout_ms=50,
        mail_outbox_dir=str(outbox),
        buyer_pages_url=BUYER_PAGES,
    )
    ingest = IngestApp(
        IngestSettings(**common, ingest_group_id=f"ingest-{unique_id}", ingest_batch_timeout_ms=50)
    )
    notifier = build(settings)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    api_settings = QueryApiSettings(
        mongodb_uri=mongodb_uri,
        mongodb_database=mongo_db_name,
        kafka_bootstrap_servers="127.0.0.1:1",
        log_json=False,
    )
    await ingest.start()
    await notifier.start()
    await producer.start()
    holder: list[Stack] = []
    parts = sorted(await producer.partitions_for(topic_names.created))
    try:
        app = create_app(api_settings)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://qa") as client:
                holder.append(
                    Stack(
                        mongo_db, topic_names, producer, client, outbox, settings, notifier, parts
                    )
                )
                yield holder[0]
    finally:
        await producer.stop()
        await (holder[0].notifier if holder else notifier).stop()
        await ingest.stop()
