"""Kafka entrypoints: each batch becomes one call of a use case in `service.py`. The shared
`orderlens.consumer.BatchConsumer` does the at-least-once work (commits after the writes, dead
letters, retries with backoff, metrics)."""

from __future__ import annotations

from collections import Counter

from orderlens.consumer import BatchConsumer, BatchConsumerConfig, Outcome, Received
from orderlens.events import CloudEvent, EventType, ExportCompleted

from ..service import Notifier, Orders, Result, handle_export_completions, handle_order_events
from ..settings import SERVICE, NotifierSettings


def _outcome(result: Result, total: int) -> Outcome:
    ignored = Counter(result.ignored)
    return Outcome(applied=total - sum(ignored.values()), ignored=ignored)


def order_events_consumer(settings: NotifierSettings, notifier: Notifier) -> BatchConsumer:
    """orders.created and orders.status-changed, co-partitioned: an order's events in order."""

    async def handle(events: list[Received]) -> Outcome:
        result = await handle_order_events([r.event for r in events], notifier)
        return _outcome(result, len(events))

    return BatchConsumer(
        BatchConsumerConfig.order_events(
            settings,
            service=SERVICE,
            group_id=settings.notifier_group_id,
            batch_timeout_ms=settings.notifier_batch_timeout_ms,
        ),
        handle,
    )


def export_completions_consumer(
    settings: NotifierSettings, notifier: Notifier, orders: Orders
) -> BatchConsumer:
    async def handle(events: list[Received]) -> Outcome:
        completions: list[CloudEvent[ExportCompleted]] = [r.event for r in events]
        result = await handle_export_completions(completions, notifier, orders)
        return _outcome(result, len(events))

    return BatchConsumer(
        BatchConsumerConfig(
            service=SERVICE,
            topic=settings.topic_export_completed,
            group_id=settings.notifier_exports_group_id,
            dead_letter_topic=settings.topic_dead_letter,
            expected_type=EventType.EXPORT_COMPLETED,
            batch_timeout_ms=settings.notifier_batch_timeout_ms,
            max_records=100,
        ),
        handle,
    )
