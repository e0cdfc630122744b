"""Kafka entry point: `orders.export-requested` events become queued export jobs.

The subscriber turns a batch into one call of `ExportService.accept_all` (with the events typed
by `orderlens.consumer.events_of`) and wakes the worker loop; `orderlens.consumer.BatchConsumer`
does the at-least-once work (commits after the writes, dead letters, retries).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from orderlens.consumer import BatchConsumer, BatchConsumerConfig, Outcome, Received, events_of
from orderlens.events import EventType, ExportRequested
from orderlens_exporter.service import ExportService
from orderlens_exporter.settings import SERVICE, ExporterSettings


def requests_handler(
    service: ExportService, wake: Callable[[], None]
) -> Callable[[list[Received]], Awaitable[Outcome]]:
    async def apply(batch: list[Received]) -> Outcome:
        outcome = await service.accept_all(events_of(batch, ExportRequested))
        wake()
        return outcome

    return apply


def requests_consumer(
    settings: ExporterSettings, service: ExportService, wake: Callable[[], None]
) -> BatchConsumer:
    return BatchConsumer(
        BatchConsumerConfig(
            service=SERVICE,
            topic=settings.topic_export_requested,
            group_id=settings.export_group_id,
            dead_letter_topic=settings.topic_dead_letter,
            expected_type=EventType.EXPORT_REQUESTED,
            max_records=100,
        ),
        requests_handler(service, wake),
    )
