"""order-ingest under failure: killed with SIGKILL mid-stream, the database taken away
mid-stream, SIGTERM. Nothing may be lost, nothing doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ing_support import (
    Publisher,
    StartIngest,
    buckets_exact,
    complete,
    events_of,
    expected,
    history_count,
    seed,
    stored_orders,
)
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.capabilities import ServerCapabilities
from orderlens.indexes import ensure_indexes
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import MongoServer
from orderlens_ingest.domain.orders import same_content
from orderlens_ingest.settings import IngestSettings

Doc = dict[str, Any]


def _env(settings: IngestSettings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INGEST_", "TOPIC_"))}
    for name, value in settings.model_dump().items():
        if name.startswith("risk_"):
            continue
        env[name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[IngestSettings, str], subprocess.Popen[bytes]]]:
    """`spawn(settings, name)`: order-ingest as a real process (`python -m orderlens_ingest`)."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(settings: IngestSettings, name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "orderlens_ingest"],
            env=_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def test_killed_mid_stream_and_restarted_loses_and_doubles_nothing(
    ingest_settings: Callable[..., IngestSettings],
    spawn: Callable[[IngestSettings, str], subprocess.Popen[bytes]],
    publisher: Publisher,
    mongo_db: AsyncDatabase[Doc],
) -> None:
    # Long enough to be cut: at 24 orders a faster order-ingest had finished before the kill.
    orders = seed(160, seed=31)
    await publisher.events(events_of(orders))
    # The indexes first, as a deployed database has them: mongo-java-server changes a
    # collection's index list unsynchronised, and this test's polling reads raced the first
    # start's createIndexes (ConcurrentModificationException, "Unknown error: null").
    await ensure_indexes(mongo_db, await ServerCapabilities.read(mongo_db))
    # Small batches, so that the kill lands between commits; a short session, so that the group
    # gives the dead process's partitions to the new one quickly.
    settings = ingest_settings(
        ingest_max_records=6,
        ingest_session_timeout_ms=6000,
        ingest_heartbeat_interval_ms=1000,
        log_json=True,
    )
    first = spawn(settings, "first")

    async def started_writing() -> bool:
        return await history_count(mongo_db) > 0

    await wait_for(started_writing, 60, "the first process writing status changes")
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    assert not await complete(mongo_db, orders)(), "killed too late to be mid-stream"

    second = spawn(settings, "second")
    await wait_for(complete(mongo_db, orders), 120, "every order and change after the restart")
    stored = await stored_orders(mongo_db)
    for seed_order in orders:
        order = stored[seed_order.order_id]
        history = [entry.event_id for entry in order.history]
        assert len(history) == len(set(history)) == len(seed_order.steps)
        assert same_content(order, expected(seed_order)), seed_order.order_id
    await buckets_exact(mongo_db)

    # SIGTERM: drains, commits and exits cleanly.
    second.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(second.wait, 60) == 0


def _retries(topic: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "orderlens_consumer_retries_total",
            {"service": "order-ingest", "topic": topic, "kind": "transient"},
        )
        or 0.0
    )


async def test_database_stopped_and_restarted_mid_stream_loses_nothing(
    mongo_server: MongoServer,
    start_ingest: StartIngest,
    publisher: Publisher,
    unique_id: str,
) -> None:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_server.uri, tz_aware=True)
    db = client[f"ingest_{unique_id}"]
    await ensure_indexes(db)
    orders = seed(24, seed=32)
    half = len(orders) // 2
    app = await start_ingest(
        mongodb_uri=mongo_server.uri, mongodb_database=db.name, mongodb_timeout_ms=1000
    )
    try:
        await publisher.events(events_of(orders[:half]))
        await wait_for(complete(db, orders[:half]), 120, "the first half stored")

        retries_before = _retries(app.settings.topic_orders_created)
        await mongo_server.astop()
        await publisher.events(events_of(orders[half:]))

        async def retrying() -> bool:
            return _retries(app.settings.topic_orders_created) > retries_before

        await wait_for(retrying, 90, "the consumer retrying while the database is down")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.health.port}") as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["mongodb"] is False

        await mongo_server.astart()
        await wait_for(complete(db, orders), 180, "every order stored once the database is back")
        stored = await stored_orders(db)
        for seed_order in orders:
            assert same_content(stored[seed_order.order_id], expected(seed_order))
        await buckets_exact(db)
    finally:
        await client.close()
