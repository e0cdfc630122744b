"""The tiktok.notifications consumer: a batch of records → one `sync_notifications` call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from orderlens.events import CloudEvent, EventType, InvalidEvent, StatusChanged, decode

from ..notifications import Notification
from ..service import SyncResult

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0

Handler = Callable[[Sequence[Notification]], Awaitable[SyncResult]]


async def consume_notifications(consumer: AIOKafkaConsumer, handle: Handler) -> None:
    """At least once: offsets are committed only after the batch's snapshots are published."""
    while True:
        batches = await consumer.getmany(timeout_ms=500, max_records=500)
        notifications: list[Notification] = []
        for records in batches.values():
            for record in records:
                try:
                    notifications.append(Notification.model_validate_json(record.value or b""))
                except ValidationError:
                    # Verified and validated before it was written; only a foreign writer gets here.
                    log.warning("unreadable record in notifications topic at %s", record.offset)
        if notifications:
            await handle(notifications)
        if batches:
            await consumer.commit()


ActionHandler = Callable[[CloudEvent[StatusChanged]], Awaitable[str]]


async def consume_status_changes(consumer: AIOKafkaConsumer, handle: ActionHandler) -> None:
    """One event at a time, committed after it was carried (the action log makes a redelivery
    harmless); an undecodable event is skipped with a warning: it is the ingest's to dead-letter."""
    while True:
        batches = await consumer.getmany(timeout_ms=500, max_records=50)
        for tp, records in batches.items():
            for record in records:
                try:
                    event = decode(record.value or b"", EventType.STATUS_CHANGED)
                except InvalidEvent as exc:
                    log.warning("skipping undecodable status change at %s: %s", record.offset, exc)
                    continue
                try:
                    await handle(event)
                except Exception:
                    # TikTok unreachable or throttled past the budget: carried again later, from
                    # this record (the position is rewound, so the commit below keeps it).
                    log.exception("seller action %s not carried yet; retrying", event.id)
                    consumer.seek(tp, record.offset)
                    await asyncio.sleep(RETRY_SECONDS)
                    break
        if batches:
            await consumer.commit()
