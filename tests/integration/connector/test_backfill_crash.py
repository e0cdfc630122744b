"""A real connector process SIGKILLed mid-backfill, restarted: it resumes from its cursor, and every
order reaches orders.created (real Kafka) with at most the interrupted page repeated."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from conn_support import connector_env, free_port

from orderlens.waiting import wait_for
from orderlens_devtools.devstack.topics import delete_topics, ensure_topics

pytestmark = pytest.mark.integration

KEY, SECRET = "crash-app", "crash-secret"
DAY = 86_400
PAGE = 100


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orderlens_connector",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


async def test_sigkill_mid_backfill_resumes_from_the_cursor(
    simulator_factory: Any,
    kafka_bootstrap_servers: str,
    mongo_db: Any,
    mongodb_uri: str,
    unique_id: str,
    tmp_path: Path,
) -> None:
    notifications, created = f"tiktok.notifications-{unique_id}", f"orders.created-{unique_id}"
    await ensure_topics(kafka_bootstrap_servers, [notifications, created], partitions=3)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    running = await simulator_factory(
        app_key=KEY,
        app_secret=SECRET,
        webhook_url=f"{url}/webhooks/tiktok",
        shop_rate=5,
        duplicate_rate=0.0,
        late_rate=0.0,
    )
    shop = running.sim.state.add_shop("Demo")
    now = int(time.time())
    orders = [running.sim.state.new_order(shop.id, at=now - 80 * DAY + i * 60) for i in range(1200)]
    env = connector_env(
        kafka=kafka_bootstrap_servers,
        mongodb_uri=mongodb_uri,
        database=mongo_db.name,
        simulator_url=running.url,
        port=port,
        app_key=KEY,
        app_secret=SECRET,
        TOPIC_TIKTOK_NOTIFICATIONS=notifications,
        TOPIC_ORDERS_CREATED=created,
        TIKTOK_SHOP_RATE="2",  # ~1 page a second: slow enough to be killed in the middle
    )
    log = tmp_path / "connector.log"
    consumer = AIOKafkaConsumer(
        created, bootstrap_servers=kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: Counter[tuple[str, int]] = Counter()
    doomed = await _start(env, log)
    survivor: asyncio.subprocess.Process | None = None
    try:
        async with httpx.AsyncClient(follow_redirects=True) as http:

            async def up() -> bool:
                try:
                    return (await http.get(f"{url}/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(
                up, 60, f"connector up: {log.read_text()[-2000:] if log.exists() else ''}"
            )
            answer = await http.get(f"{url}/oauth/tiktok/authorize")
            assert answer.json() == {"connected": [shop.id]}, answer.text

            async with asyncio.timeout(60):
                async for record in consumer:
                    order = json.loads(record.value or b"")["data"]["order"]
                    seen[(order["id"], order["update_time"])] += 1
                    if len(seen) >= 3 * PAGE:
                        break
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
            job = await mongo_db["tiktok_sync"].find_one({"_id": shop.id})
            assert job["page_token"], "the backfill finished before it could be killed"
            assert job.get("last_success") is None
            killed_at = job["orders_fetched"]

            survivor = await _start(env, log)
            want = {(o["id"], o["update_time"]) for o in orders}
            async with asyncio.timeout(90):
                while not want <= set(seen):
                    batch = await consumer.getmany(timeout_ms=500)
                    for records in batch.values():
                        for record in records:
                            order = json.loads(record.value or b"")["data"]["order"]
                            seen[(order["id"], order["update_time"])] += 1
            status = (await http.get(f"{url}/shops")).json()["shops"][0]
    finally:
        for proc in (doomed, survivor):
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
        await consumer.stop()
        await delete_topics(kafka_bootstrap_servers, [notifications, created])

    assert killed_at >= 2 * PAGE
    # Resumed, not restarted: only the page in flight at the kill may arrive twice.
    repeated = sum(n - 1 for n in seen.values())
    assert repeated <= PAGE, f"{repeated} snapshots repeated"
    assert set(seen) == {(o["id"], o["update_time"]) for o in orders}
    assert status["sync"]["orders_fetched"] <= len(orders) + PAGE
    assert running.sim.stats.over_limit == 0
