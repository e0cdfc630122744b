"""The tiktok.notifications consumer: a batch of records → one `sync_notifications` call."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from ..notifications import Notification
from ..service import SyncResult

log = logging.getLogger(__name__)

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
