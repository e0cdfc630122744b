"""Publishing `orders.export-completed` (docs/contract.md §3.5)."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from orderlens.domain.export import ExportRecord
from orderlens.events import make_event
from orderlens.export_events import completed_event_data
from orderlens.kafka import publish_event
from orderlens_exporter.settings import EVENT_SOURCE


class CompletionPublisher:
    def __init__(self, broker: KafkaBroker, topic: str) -> None:
        self._broker = broker
        self._topic = topic

    async def __call__(self, record: ExportRecord) -> None:
        # One id per finished attempt: a re-publication after a crash is a duplicate that
        # subscribers drop by id.
        event = make_event(
            completed_event_data(record),
            source=EVENT_SOURCE,
            subject=record.id,
            event_id=f"evt-{record.id}-completed-{record.attempts}",
        )
        await publish_event(self._broker, self._topic, event)
