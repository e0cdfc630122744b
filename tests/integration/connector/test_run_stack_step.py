"""The TikTok step of `make run` (scripts/run-stack), with its own commands on free ports:
`orderlens tiktok-simulator --demo-shop … --demo-orders …`, `orderlens-tiktok-connector`, then
`orderlens tiktok-connect`, whose JSON the run-stack's summary prints. The shop ends connected
through the OAuth flow, its past orders backfilled to orders.created, and a webhooked order
follows. (run-stack's own ports are fixed at 8085/8091, which tests must not take.)"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from conn_support import connector_env, free_port, kill, start_connector

from orderlens.waiting import wait_for
from orderlens_devtools.devstack import delete_topics, ensure_topics

pytestmark = pytest.mark.integration

KEY, SECRET = "runstack-app", "runstack-secret"
PAST = 25
BIN = Path(sys.executable).parent


async def test_the_demo_shop_is_connected_through_oauth_and_its_orders_flow_in(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db: Any,
    unique_id: str,
    tmp_path: Path,
) -> None:
    notifications, created = f"tiktok.notifications-{unique_id}", f"orders.created-{unique_id}"
    await ensure_topics(kafka_bootstrap_servers, [notifications, created], partitions=3)
    sim_port, port = free_port(), free_port()
    sim_url, connector_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{port}"
    log = tmp_path / "stack.log"
    with log.open("ab") as stderr:
        simulator = await asyncio.create_subprocess_exec(
            str(BIN / "orderlens"),
            "tiktok-simulator",
            "--port",
            str(sim_port),
            "--app-key",
            KEY,
            "--app-secret",
            SECRET,
            "--webhook-url",
            f"{connector_url}/webhooks/tiktok",
            "--demo-shop",
            "Demo TikTok shop",
            "--demo-orders",
            str(PAST),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    env = connector_env(
        kafka=kafka_bootstrap_servers,
        mongodb_uri=mongodb_uri,
        database=mongo_db.name,
        simulator_url=sim_url,
        port=port,
        app_key=KEY,
        app_secret=SECRET,
        TOPIC_TIKTOK_NOTIFICATIONS=notifications,
        TOPIC_ORDERS_CREATED=created,
    )
    consumer = AIOKafkaConsumer(
        created, bootstrap_servers=kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    connector = None
    seen: set[str] = set()
    try:
        async with httpx.AsyncClient() as http:

            async def simulator_up() -> bool:
                try:
                    return (await http.get(f"{sim_url}/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(simulator_up, 60, "the simulator answers /healthz")
            connector = await start_connector(env, log)
            connect = await asyncio.create_subprocess_exec(
                str(BIN / "orderlens"),
                "tiktok-connect",
                "--connector",
                connector_url,
                stdout=subprocess.PIPE,
            )
            out, _ = await asyncio.wait_for(connect.communicate(), 180)
            assert connect.returncode == 0
            [shop] = json.loads(out)
            # A new order in the shop, after the connection: it comes by webhook.
            added = await http.post(
                f"{sim_url}/_sim/orders", json={"shop_id": shop["shop_id"], "count": 1}
            )
            [fresh] = added.json()["ids"]
        async with asyncio.timeout(60):
            async for record in consumer:
                event = json.loads(record.value or b"")
                assert event["data"]["shop_id"] == shop["shop_id"]
                seen.add(event["data"]["order"]["id"])
                if len(seen) == PAST + 1:
                    break
    finally:
        await kill(connector)
        await kill(simulator)
        await consumer.stop()
        await delete_topics(kafka_bootstrap_servers, [notifications, created])

    assert shop["name"] == "Demo TikTok shop"
    assert shop["state"] == "connected"
    assert shop["sync"]["orders_fetched"] == PAST
    assert shop["sync"]["last_success"] is not None
    assert fresh in seen
