"""Status-tracker fixtures: the carrier simulator in the test's loop, tracker replicas on the real
Kafka and MongoDB-wire servers, and a reader of the events they publish.

Journeys run in seconds: the simulator's clock runs ~100,000 times faster than real time (a
five-day journey takes about four seconds) and cadences are scaled down to match.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from trk_support import EventReader, StartTracker

from orderlens_devtools.carrier_simulator import RunningSimulator, SimulatorConfig, running
from orderlens_devtools.devstack import TopicNames
from orderlens_tracker.app import TrackerApp
from orderlens_tracker.settings import TrackerSettings

# An hour of a journey in 36 ms.
FAST = 100_000.0


@pytest_asyncio.fixture
async def simulator() -> AsyncIterator[RunningSimulator]:
    config = SimulatorConfig(speed=FAST, latency_ms=5, latency_sigma=0.3, rate_limit=None)
    async with running(config) as sim:
        yield sim


@pytest.fixture
def tracker_settings(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
) -> Callable[..., TrackerSettings]:
    """`tracker_settings(simulator_url, **overrides)`: settings for a fast test replica."""

    def make(simulator_url: str, **overrides: Any) -> TrackerSettings:
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": kafka_bootstrap_servers,
            "mongodb_uri": mongodb_uri,
            "mongodb_database": mongo_db_name,
            "topic_orders_created": topic_names.created,
            "topic_status_changed": topic_names.status_changed,
            "topic_dead_letter": topic_names.dead_letter,
            "consumer_group": f"tracker-{unique_id}",
            "http_host": "127.0.0.1",
            "http_port": 0,
            "log_json": False,
            "carrier_simulator_url": simulator_url,
            "carrier_rate_limit": 1000.0,
            "carrier_timeout_seconds": 1.0,
            "carrier_max_attempts": 2,
            "carrier_backoff_base_seconds": 0.05,
            "carrier_backoff_cap_seconds": 0.2,
            "breaker_reset_seconds": 1.0,
            # A checkpoint every ~0.4 s at FAST speed; poll several times between checkpoints.
            "cadence_scale": 0.00002,
            "retry_delay_seconds": 0.1,
            "shards": 16,
            "lease_seconds": 4.0,
            "refresh_seconds": 0.3,
            "idle_seconds": 0.1,
        }
        values.update(overrides)
        return TrackerSettings(**values)

    return make


@pytest_asyncio.fixture
async def start_tracker() -> AsyncIterator[StartTracker]:
    """`await start_tracker(settings)`: a running replica, stopped after the test."""
    apps: list[TrackerApp] = []

    async def start(settings: TrackerSettings) -> TrackerApp:
        app = TrackerApp(settings)
        await app.start()
        apps.append(app)
        return app

    yield start
    for app in apps:
        with contextlib.suppress(Exception):
            await app.stop()


@pytest_asyncio.fixture
async def event_reader(
    kafka_bootstrap_servers: str, topic_names: TopicNames
) -> AsyncIterator[EventReader]:
    reader = EventReader(kafka_bootstrap_servers, topic_names.status_changed)
    await reader.start()
    yield reader
    await reader.stop()
