"""Publishing seeded events to Kafka, batched for speed, keyed by order id."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

from orderlens.events import CloudEvent, EventType, encode
from orderlens.kafka import CLOUDEVENTS_CONTENT_TYPE

_IN_FLIGHT = 5_000


async def publish_events(
    events: Iterable[CloudEvent[Any]],
    *,
    bootstrap_servers: str,
    created_topic: str,
    status_topic: str,
) -> dict[str, int]:
    """Send every event to its topic and wait until all are acknowledged; counts per topic."""
    counts = {created_topic: 0, status_topic: 0}
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers.split(","),
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
        compression_type=None,
    )
    await producer.start()
    try:
        pending: list[asyncio.Future[Any]] = []
        for event in events:
            topic = created_topic if event.type == EventType.ORDER_CREATED else status_topic
            headers = [
                ("content-type", CLOUDEVENTS_CONTENT_TYPE.encode()),
                ("ce-type", event.type.value.encode()),
            ]
            pending.append(
                await producer.send(
                    topic, encode(event), key=event.subject.encode(), headers=headers
                )
            )
            counts[topic] += 1
            if len(pending) >= _IN_FLIGHT:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return counts
