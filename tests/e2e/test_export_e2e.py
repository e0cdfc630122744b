"""Orders published to Kafka, stored by order-ingest, listed by query-api and exported by the
exporter: the analyst's export shows exactly what the analyst's order list shows."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from asgi_lifespan import LifespanManager

from orderlens.events import decode, encode
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.seed import SeedConfig, created_event, iter_orders, shop_ids
from orderlens_exporter.app import build
from orderlens_exporter.settings import ExporterSettings
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

SEED = SeedConfig(orders=80, shops=2, seed=23, days=20, end=datetime(2026, 4, 1, tzinfo=UTC))
TZ = "Asia/Singapore"


@pytest_asyncio.fixture
async def api(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
    tmp_path: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    """order-ingest, the exporter and query-api, in this process, on the test's topics."""
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap_servers,
        "mongodb_uri": mongodb_uri,
        "mongodb_database": mongo_db_name,
        "topic_orders_created": topic_names.created,
        "topic_status_changed": topic_names.status_changed,
        "topic_export_requested": topic_names.export_requested,
        "topic_export_completed": topic_names.export_completed,
        "topic_dead_letter": topic_names.dead_letter,
        "export_dir": tmp_path / "exports",
        "http_port": 0,
        "log_json": False,
    }
    ingest = IngestApp(IngestSettings(**common, ingest_group_id=f"ingest-{unique_id}"))
    exporter = build(ExporterSettings(**common, export_poll_seconds=0.2), owner="e2e")
    app = create_app(QueryApiSettings(**{**common, "http_port": 8000}))
    await ingest.start()
    await exporter.start()
    try:
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://e2e") as client:
                yield client
    finally:
        await exporter.stop()
        await ingest.stop()


def auth(role: Role) -> dict[str, str]:
    token = mint_token(sub=f"e2e-{role}", role=role, shops=shop_ids(SEED), secret=LOCAL_DEV_SECRET)
    return {"Authorization": f"Bearer {token}"}


async def publish_orders(bootstrap: str, topic: str) -> int:
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


async def listed(client: httpx.AsyncClient, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = [*params, ("limit", "200")] + ([("cursor", cursor)] if cursor else [])
        response = await client.get("/v1/orders", params=page, headers=auth(Role.ANALYST))
        assert response.status_code == 200, response.text
        items.extend(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def test_an_analysts_export_shows_exactly_the_analysts_order_list(
    api: httpx.AsyncClient, kafka_bootstrap_servers: str, topic_names: TopicNames
) -> None:
    published = await publish_orders(kafka_bootstrap_servers, topic_names.created)

    async def all_stored() -> bool:
        return len(await listed(api, [])) >= published

    await wait_for(all_stored, within=180, what="order-ingest to store every order", every=0.5)

    filters = {"view": ["delivered", "completed", "shipped"], "tz": TZ}
    response = await api.post(
        "/v1/exports",
        json={"format": "csv", "granularity": "line", "filters": filters, "tz": TZ},
        headers=auth(Role.ANALYST),
    )
    assert response.status_code == 202, response.text
    export_id = response.json()["export_id"]

    async def finished() -> bool:
        view = (await api.get(f"/v1/exports/{export_id}", headers=auth(Role.ANALYST))).json()
        return view["status"] in ("succeeded", "failed")

    await wait_for(finished, within=180, what="the export to finish", every=0.2)
    view = (await api.get(f"/v1/exports/{export_id}", headers=auth(Role.ANALYST))).json()
    assert view["status"] == "succeeded", view

    download = await api.get(f"/v1/exports/{export_id}/download", headers=auth(Role.ANALYST))
    assert download.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(download.content.decode(), newline="")))
    column = {name: index for index, name in enumerate(header)}
    summaries = {
        item["id"]: item
        for item in await listed(api, [("view", v) for v in filters["view"]] + [("tz", TZ)])
    }
    assert 10 < len(summaries) < published
    assert {row[column["Order ID"]] for row in rows} == set(summaries)

    zone = ZoneInfo(TZ)
    units: dict[str, int] = {}
    for row in rows:
        summary = summaries[row[column["Order ID"]]]
        created = datetime.fromisoformat(summary["created_at"]).astimezone(zone)
        assert row[column["Created Time"]] == created.isoformat()
        assert row[column["Order Status"]] == summary["status"]
        assert row[column["Shop ID"]] == summary["shop_id"]
        assert row[column["Order Amount"]] == summary["total"]["amount"]
        assert row[column["Currency"]] == summary["total"]["currency"]
        assert row[column["Recipient"]] == summary["recipient"]["name"]  # initials
        assert row[column["Email"]] == (summary["buyer"]["email"] or "")  # masked
        assert row[column["Product Name"]] in summary["product_names"]
        units[summary["id"]] = units.get(summary["id"], 0) + int(row[column["Quantity"]])
    assert units == {order_id: s["units"] for order_id, s in summaries.items()}

    consumer = AIOKafkaConsumer(
        topic_names.export_completed,
        bootstrap_servers=kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), 60)
    finally:
        await consumer.stop()
    completed = decode(message.value)
    assert completed.subject == export_id
    assert completed.data.rows == len(rows)
    assert completed.data.sha256 == view["sha256"]
