"""Kafka helpers shared by the services: the broker factory, event publishing, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker

from orderlens.events import CloudEvent, encode

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"


def make_broker(bootstrap_servers: str, *, client_id: str, **options: Any) -> KafkaBroker:
    """A FastStream Kafka broker; producers wait for every in-sync replica (acks=all)."""
    return KafkaBroker(
        bootstrap_servers.split(","),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        **options,
    )


async def publish_event(broker: KafkaBroker, topic: str, event: CloudEvent[Any]) -> None:
    """Publish one event keyed by its subject, and wait until the broker acknowledged it."""
    await broker.publish(
        encode(event),
        topic=topic,
        key=event.subject.encode(),
        headers={"content-type": CLOUDEVENTS_CONTENT_TYPE, "ce-type": event.type.value},
    )


def dead_letter_headers(
    reason: str, *, topic: str, partition: int, offset: int, failed_at: datetime | None = None
) -> dict[str, str]:
    """The headers of docs/contract.md §3.6 on a dead letter."""
    return {
        "x-error": reason[:2000],
        "x-original-topic": topic,
        "x-original-partition": str(partition),
        "x-original-offset": str(offset),
        "x-failed-at": (failed_at or datetime.now(UTC)).isoformat(),
    }


async def publish_dead_letter(
    broker: KafkaBroker,
    dead_letter_topic: str,
    *,
    value: bytes,
    key: bytes | None,
    reason: str,
    topic: str,
    partition: int,
    offset: int,
) -> None:
    """Send the original bytes and key to the dead-letter topic, with why and whence."""
    await broker.publish(
        value,
        topic=dead_letter_topic,
        key=key,
        headers=dead_letter_headers(reason, topic=topic, partition=partition, offset=offset),
    )
