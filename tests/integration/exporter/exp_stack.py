"""The export stack under test: the exporter service and query-api, in this process, on a real
Kafka broker and a real MongoDB-wire server, sharing a database and an export directory."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.domain.order import Order
from orderlens.mongo import Document
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.devstack import TopicNames, delete_topics, ensure_topics
from orderlens_exporter.app import Exporter, build
from orderlens_exporter.settings import ExporterSettings
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

FINISHED = ("succeeded", "failed")


@dataclass
class ExportStack:
    api: httpx.AsyncClient
    db: AsyncDatabase[Document]
    exporters: list[Exporter]
    settings: ExporterSettings
    topics: TopicNames
    shops: list[str]
    orders: list[Order] = field(default_factory=list)

    @property
    def export_dir(self) -> Path:
        return self.settings.export_dir

    def auth(
        self, role: Role | str = Role.ADMIN, shops: list[str] | None = None, sub: str | None = None
    ) -> dict[str, str]:
        token = mint_token(
            sub=sub or f"user-{role}",
            role=role,
            shops=shops or self.shops,
            secret=LOCAL_DEV_SECRET,
        )
        return {"Authorization": f"Bearer {token}"}

    async def request(self, body: dict[str, Any], **who: Any) -> str:
        response = await self.api.post("/v1/exports", json=body, headers=self.auth(**who))
        assert response.status_code == 202, response.text
        assert response.headers["Location"] == f"/v1/exports/{response.json()['export_id']}"
        export_id: str = response.json()["export_id"]
        return export_id

    async def wait(
        self,
        export_id: str,
        *,
        within: float = 120,
        seen: list[dict[str, Any]] | None = None,
        **who: Any,
    ) -> dict[str, Any]:
        """Poll GET /v1/exports/{id} until it is finished; every answer goes into `seen`."""
        deadline = time.monotonic() + within
        while True:
            response = await self.api.get(f"/v1/exports/{export_id}", headers=self.auth(**who))
            assert response.status_code == 200, response.text
            view: dict[str, Any] = response.json()
            if seen is not None:
                seen.append(view)
            if view["status"] in FINISHED:
                return view
            assert time.monotonic() < deadline, f"export still {view['status']}: {view}"
            await asyncio.sleep(0.1)

    async def order_ids(self, params: list[tuple[str, str]], **who: Any) -> list[str]:
        """Every order id GET /v1/orders returns for `params`, page after page."""
        ids: list[str] = []
        cursor: str | None = None
        while True:
            page = [*params, ("limit", "200")] + ([("cursor", cursor)] if cursor else [])
            response = await self.api.get("/v1/orders", params=page, headers=self.auth(**who))
            assert response.status_code == 200, response.text
            body = response.json()
            ids.extend(item["id"] for item in body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return ids


def exporter_settings(
    mongodb_uri: str, db_name: str, kafka: str, topics: TopicNames, export_dir: Path, **extra: Any
) -> ExporterSettings:
    values: dict[str, Any] = {
        "mongodb_uri": mongodb_uri,
        "mongodb_database": db_name,
        "kafka_bootstrap_servers": kafka,
        "topic_export_requested": topics.export_requested,
        "topic_export_completed": topics.export_completed,
        "topic_dead_letter": topics.dead_letter,
        "export_dir": export_dir,
        "http_port": 0,
        "export_poll_seconds": 0.2,
        "export_sweep_seconds": 0.5,
        "export_lease_seconds": 10,
        "export_retry_delay_seconds": 0.5,
        "log_json": False,
        **extra,
    }
    return ExporterSettings(**values)


async def start_stack(
    mongo_client: AsyncMongoClient[Document],
    mongodb_uri: str,
    kafka: str,
    export_dir: Path,
    *,
    orders: list[Order] | None = None,
    documents: list[Document] | None = None,
    shops: list[str],
    exporters: int = 1,
    **extra: Any,
) -> AsyncIterator[ExportStack]:
    """Yield a running stack over a fresh database and fresh topics; tear it all down after."""
    suffix = uuid.uuid4().hex[:10]
    db_name = f"exp_{suffix}"
    topics = TopicNames.with_suffix(f"exp-{suffix}")
    await ensure_topics(kafka, topics.values(), partitions=1)
    # No order indexes: FerretDB would maintain them on every insert, and no test needs them.
    db = mongo_client[db_name]
    docs = [o.to_document() for o in orders or []] + list(documents or [])
    for start in range(0, len(docs), 2_000):
        await db.orders.insert_many(docs[start : start + 2_000], ordered=False)
    settings = exporter_settings(mongodb_uri, db_name, kafka, topics, export_dir, **extra)
    running = [build(settings, owner=f"test-exporter-{i}") for i in range(exporters)]
    api_settings = QueryApiSettings(
        mongodb_uri=mongodb_uri,
        mongodb_database=db_name,
        kafka_bootstrap_servers=kafka,
        topic_export_requested=topics.export_requested,
        export_dir=export_dir,
        log_json=False,
    )
    app = create_app(api_settings)
    try:
        for exporter in running:
            await exporter.start()
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://exp") as client:
                yield ExportStack(client, db, running, settings, topics, shops, orders or [])
    finally:
        for exporter in running:
            await exporter.stop()
        await mongo_client.drop_database(db_name)
        await delete_topics(kafka, topics.values())
