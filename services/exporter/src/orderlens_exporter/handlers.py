"""Kafka entry point: `orders.export-requested` events become queued export jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from orderlens.consumer import BatchConsumer, BatchConsumerConfig, Outcome, Received
from orderlens.events import EventType, ExportRequested
from orderlens_exporter.service import ExportService
from orderlens_exporter.settings import SERVICE, ExporterSettings


def requests_handler(
    service: ExportService, wake: Callable[[], None]
) -> Callable[[list[Received]], Awaitable[Outcome]]:
    async def apply(events: list[Received]) -> Outcome:
        outcome = Outcome()
        for received in events:
            data = received.event.data
            assert isinstance(data, ExportRequested)
            if await service.accept(data, event_id=received.event.id):
                outcome.applied += 1
            else:
                outcome.ignore("duplicate")
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
