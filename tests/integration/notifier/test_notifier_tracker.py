"""A delivery issue raised by the real status-tracker, polling the carrier simulator, reaches the
seller's inbox (GET /v1/inbox) within seconds, and the buyer's mailbox."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from ntf_support import SHOP, Stack, new_order_id, order_event, token

from orderlens.roles import Role
from orderlens_devtools.carrier_simulator import RunningSimulator, SimulatorConfig, running
from orderlens_tracker.app import TrackerApp
from orderlens_tracker.settings import TrackerSettings

# An hour of a journey in 90 ms (as tests/e2e/test_tracking_e2e.py).
SPEED = 40_000.0


@pytest_asyncio.fixture
async def tracker(stack: Stack, unique_id: str) -> AsyncIterator[None]:
    async with running(SimulatorConfig(speed=SPEED, latency_ms=5, rate_limit=None)) as sim:
        app = TrackerApp(_settings(stack, sim, unique_id))
        await app.start()
        try:
            yield
        finally:
            await app.stop()


def _settings(stack: Stack, sim: RunningSimulator, unique_id: str) -> TrackerSettings:
    s = stack.settings
    return TrackerSettings(
        kafka_bootstrap_servers=s.kafka_bootstrap_servers,
        mongodb_uri=s.mongodb_uri,
        mongodb_database=s.mongodb_database,
        topic_orders_created=s.topic_orders_created,
        topic_status_changed=s.topic_status_changed,
        topic_dead_letter=s.topic_dead_letter,
        http_host="127.0.0.1",
        http_port=0,
        log_json=False,
        consumer_group=f"tracker-{unique_id}",
        carrier_simulator_url=sim.url,
        carrier_rate_limit=200.0,
        carrier_timeout_seconds=1.0,
        carrier_max_attempts=2,
        carrier_backoff_cap_seconds=0.2,
        cadence_scale=0.25 / SPEED,
        lease_seconds=4.0,
        refresh_seconds=0.3,
        idle_seconds=0.05,
        shards=8,
    )


async def test_a_delivery_issue_from_the_tracker_is_in_the_inbox_within_seconds(
    stack: Stack, tracker: None
) -> None:
    order_id = new_order_id()
    buyer = f"buyer-{uuid.uuid4().hex[:8]}"
    address = f"{buyer}@example.com"
    number = f"SIMEXC{uuid.uuid4().hex[:10].upper()}"
    await stack.publish(
        order_event(
            order_id,
            status="AWAITING_COLLECTION",
            buyer=buyer,
            email_to=address,
            tracking_number=number,
        )
    )
    started = time.monotonic()
    seller = token("ops-1", Role.OPERATIONS, (SHOP,))
    await stack.wait_item(seller, "delivery_issue", order_id, within=60)
    seconds = time.monotonic() - started
    [item] = await stack.items(seller, kind="delivery_issue", order_id=order_id)
    assert item["title"] == "Delivery issue"
    assert "exception" in item["detail"]
    assert item["read"] is False
    await stack.wait_mail(address, "A problem with the delivery")
    print(f"delivery issue in the inbox {seconds:.1f} s after the order was published")
