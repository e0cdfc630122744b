"""The tracker as operators and other services meet it: probes, metrics, dead letters, and the
simulator started from the command line."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from trk_support import StartTracker, publish_raw, simulator_stats

from orderlens.waiting import wait_for
from orderlens_devtools.carrier_simulator import RunningSimulator
from orderlens_devtools.devstack import TopicNames
from orderlens_tracker.domain import Package
from orderlens_tracker.settings import TrackerSettings


async def test_probes_and_metrics_tell_what_the_tracker_does(
    simulator: RunningSimulator,
    tracker_settings: Callable[..., TrackerSettings],
    start_tracker: StartTracker,
) -> None:
    app = await start_tracker(tracker_settings(simulator.url))
    await app.jobs.add_many(
        [Package(f"PROBE{i:05d}", f"order-{i}", "shop-1") for i in range(20)], datetime.now(UTC)
    )

    async def polled() -> bool:
        return bool((await simulator_stats(simulator))["distinct_numbers"] == 20)

    await wait_for(polled, within=30, what="the parcels to be polled")
    base = f"http://127.0.0.1:{app.health.port}"
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{base}/healthz")).status_code == 200
        ready = await client.get(f"{base}/readyz")
        metrics = (await client.get(f"{base}/metrics")).text
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"mongodb": True, "kafka": True}
    for sample in (
        'orderlens_tracker_polls_total{outcome="ok",provider="simulator"}',
        'orderlens_tracker_poll_duration_seconds_count{provider="simulator"}',
        'orderlens_tracker_breaker_state{provider="simulator"} 0.0',
        "orderlens_tracker_jobs_due ",
        "orderlens_tracker_jobs_overdue ",
    ):
        assert sample in metrics, sample


async def test_a_message_that_is_not_an_event_goes_to_the_dead_letter_topic(
    simulator: RunningSimulator,
    tracker_settings: Callable[..., TrackerSettings],
    start_tracker: StartTracker,
    kafka_bootstrap_servers: str,
    topic_names: TopicNames,
) -> None:
    await start_tracker(tracker_settings(simulator.url))
    await publish_raw(kafka_bootstrap_servers, topic_names.created, b"{not json", key=b"o-1")
    consumer = AIOKafkaConsumer(
        topic_names.dead_letter,
        bootstrap_servers=kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 60)
    finally:
        await consumer.stop()
    headers = {k: v.decode() for k, v in record.headers}
    assert record.value == b"{not json"
    assert record.key == b"o-1"
    assert headers["x-original-topic"] == topic_names.created
    assert headers["x-error"].startswith("not a CloudEvent")
    assert {"x-original-partition", "x-original-offset", "x-failed-at"} <= headers.keys()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_the_simulator_runs_from_the_command_line() -> None:
    port = _free_port()
    # The console script the README's run command uses.
    command = str(Path(sys.executable).with_name("orderlens"))
    process = await asyncio.create_subprocess_exec(
        command,
        "carrier-simulator",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--rate-limit",
        "2/s",
        "--latency-ms",
        "0",
        "--error-rate",
        "0",
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def healthy() -> bool:
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(healthy, within=30, what="the simulator to start")
            body = {"tracking_numbers": ["SIMDLV00001"]}
            codes = [(await client.post("/v1/track", json=body)).status_code for _ in range(3)]
            stats = (await client.get("/_stats")).json()
        assert codes == [200, 200, 429]
        assert stats["over_limit"] == 1
        assert stats["rate_limit"] == 2.0
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert await asyncio.wait_for(process.wait(), 15) in (0, -signal.SIGTERM)


async def test_the_service_runs_from_its_console_script_and_stops_on_sigterm(
    simulator: RunningSimulator,
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": mongo_db_name,
        "TOPIC_ORDERS_CREATED": topic_names.created,
        "TOPIC_STATUS_CHANGED": topic_names.status_changed,
        "TOPIC_DEAD_LETTER": topic_names.dead_letter,
        "CONSUMER_GROUP": f"tracker-{unique_id}",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "CARRIER_SIMULATOR_URL": simulator.url,
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("orderlens-status-tracker")), env=env
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(ready, within=60, what="/readyz")
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0, "a clean, drained shutdown"
