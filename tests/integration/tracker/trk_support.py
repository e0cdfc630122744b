"""Helpers of the status-tracker integration tests (imported by the tests and conftest)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from orderlens.events import (
    CloudEvent,
    EventType,
    OrderCreated,
    StatusChanged,
    decode,
    encode,
    make_event,
)
from orderlens.tiktok import TikTokOrder
from orderlens_devtools.carrier_simulator import RunningSimulator
from orderlens_tracker.app import TrackerApp
from orderlens_tracker.settings import TrackerSettings

StartTracker = Callable[[TrackerSettings], Awaitable[TrackerApp]]


class EventReader:
    """Reads `orders.status-changed` from the beginning, as an outside subscriber would."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        self.events: list[CloudEvent[StatusChanged]] = []

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def read_until(
        self, done: Callable[[list[CloudEvent[StatusChanged]]], bool], within: float
    ) -> list[CloudEvent[StatusChanged]]:
        deadline = time.monotonic() + within
        while not done(self.events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"condition not met within {within}s; {len(self.events)} events read"
                )
            batches = await self.consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            for records in batches.values():
                for record in records:
                    self.events.append(decode(record.value or b"", EventType.STATUS_CHANGED))
        return self.events


async def simulator_stats(sim: RunningSimulator, *, per_number: bool = False) -> dict[str, Any]:
    """What the simulator counted, as a test would ask it over HTTP."""
    async with httpx.AsyncClient() as client:
        params = {"per_number": "1"} if per_number else {}
        response = await client.get(f"{sim.url}/_stats", params=params)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats


def order_created(
    order_id: str,
    tracking_number: str,
    *,
    shop_id: str = "7000000001",
    status: str = "AWAITING_COLLECTION",
    carrier: str = "simpost",
) -> CloudEvent[OrderCreated]:
    """A shipped TikTok order with one package."""
    package_id = f"pkg-{order_id}"
    order = TikTokOrder.model_validate(
        {
            "id": order_id,
            "status": status,
            "create_time": 1_763_600_000,
            "update_time": 1_763_700_000,
            "payment": {"currency": "USD", "total_amount": "25.00"},
            "line_items": [
                {
                    "id": f"{order_id}-1",
                    "sku_id": "sku-1",
                    "product_name": "Ceramic mug",
                    "sale_price": "25.00",
                    "package_id": package_id,
                    "tracking_number": tracking_number,
                    "shipping_provider_name": carrier,
                }
            ],
            "packages": [{"id": package_id}],
            "tracking_number": tracking_number,
            "shipping_provider": carrier,
        }
    )
    return make_event(
        OrderCreated(shop_id=shop_id, order=order), source="tests/tracker", subject=order_id
    )


async def publish(bootstrap_servers: str, topic: str, events: list[CloudEvent[Any]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, encode(event), key=event.subject.encode())
    finally:
        await producer.stop()


async def publish_raw(bootstrap_servers: str, topic: str, value: bytes, *, key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
