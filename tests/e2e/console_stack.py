"""The console's test stack: order-ingest, the exporter, query-api and the console (the two
web apps served over real HTTP by uvicorn) in this process, on the test's Kafka topics and
database, with seeded orders published to Kafka; and headless Debian Chromium (Playwright)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from orderlens.events import encode
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_console.app import create_app as create_console
from orderlens_console.settings import ConsoleSettings
from orderlens_devtools.asgi import free_port, serve
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.seed import SeedConfig, created_event, iter_orders, shop_ids
from orderlens_exporter.app import build as build_exporter
from orderlens_exporter.settings import ExporterSettings
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings
from orderlens_query.app import create_app as create_query_api
from orderlens_query.settings import QueryApiSettings

SEED = SeedConfig(orders=60, shops=2, seed=31, days=20, end=datetime(2026, 4, 1, tzinfo=UTC))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "console"


def token(role: Role) -> str:
    value: str = mint_token(
        sub=f"e2e-{role}", role=role, shops=shop_ids(SEED), secret=LOCAL_DEV_SECRET
    )
    return value


@dataclass
class Stack:
    api_url: str
    console_url: str
    topics: TopicNames
    bootstrap: str

    async def api_get(self, path: str, params: Any = None, role: Role = Role.ADMIN) -> Any:
        async with httpx.AsyncClient(base_url=self.api_url, timeout=60) as client:
            response = await client.get(
                path, params=params, headers={"Authorization": f"Bearer {token(role)}"}
            )
            assert response.status_code == 200, response.text
            return response.json()


async def publish_seed(bootstrap: str, topic: str) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        count = 0
        for seed_order in iter_orders(SEED):
            event = created_event(seed_order, final=True)
            await producer.send(topic, encode(event), key=event.subject.encode())
            count += 1
        await producer.flush()
    finally:
        await producer.stop()
    return count


async def publish(bootstrap: str, topic: str, event: Any) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, encode(event), key=event.subject.encode())
    finally:
        await producer.stop()


async def publish_created(bootstrap: str, topic: str, seed_order: Any) -> None:
    await publish(bootstrap, topic, created_event(seed_order, final=True))


@asynccontextmanager
async def console_stack(
    bootstrap: str,
    mongodb_uri: str,
    db_name: str,
    topics: TopicNames,
    unique_id: str,
    export_dir: Path,
    outbox: Path | None = None,
) -> AsyncIterator[Stack]:
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "mongodb_uri": mongodb_uri,
        "mongodb_database": db_name,
        "topic_orders_created": topics.created,
        "topic_status_changed": topics.status_changed,
        "topic_export_requested": topics.export_requested,
        "topic_export_completed": topics.export_completed,
        "topic_dead_letter": topics.dead_letter,
        "export_dir": export_dir,
        "log_json": False,
        # Every service's own HTTP port is picked by the OS: a test never takes a fixed port.
        "http_port": 0,
    }
    ingest = IngestApp(IngestSettings(**common, ingest_group_id=f"ingest-{unique_id}"))
    api_port, console_port = free_port(), free_port()
    # Buyer links point at this console's landing page; buyer mail goes to `outbox`.
    mail = {"mail_outbox_dir": str(outbox)} if outbox is not None else {}
    query_api = create_query_api(
        QueryApiSettings(
            **common,
            query_max_time_ms=120_000,
            console_public_url=f"http://localhost:{console_port}",
            **mail,
        )
    )
    exporter = build_exporter(ExporterSettings(**common, export_poll_seconds=0.2), owner="e2e")
    await ingest.start()
    await exporter.start()
    try:
        async with serve(query_api, api_port) as api_url:
            console = create_console(
                ConsoleSettings(
                    query_api_url=api_url,
                    public_url=f"http://localhost:{console_port}",
                    dev_sign_in=True,
                    dev_shops=",".join(shop_ids(SEED)),
                )
            )
            async with serve(console, console_port) as _:
                stack = Stack(api_url, f"http://localhost:{console_port}", topics, bootstrap)
                published = await publish_seed(bootstrap, topics.created)
                deadline = time.monotonic() + 180
                while (await stack.api_get("/v1/orders/counts"))["total"] < published:
                    assert time.monotonic() < deadline, "order-ingest did not store every order"
                    await asyncio.sleep(0.5)
                yield stack
    finally:
        await exporter.stop()
        await ingest.stop()
