"""Kafka entrypoint: order events in, tracking jobs out (consumer group orderlens-status-tracker).

One subscriber reads both topics, so all events of one order (same key, same partition number)
come to one consumer in order: a cancellation is not applied before the order it cancels. The
subscriber only turns a batch into one call of the use case `intake.take_in`; the shared
`orderlens.consumer.BatchConsumer` does the at-least-once work (manual commits after the writes,
dead letters, retries with backoff, metrics), and `orderlens.consumer.events_of` hands the use
case typed events.
"""

from __future__ import annotations

from datetime import UTC, datetime

from orderlens.consumer import BatchConsumer, BatchConsumerConfig, Outcome, Received, events_of
from orderlens.events import OrderCreated, StatusChanged
from orderlens_tracker.services import intake
from orderlens_tracker.settings import SERVICE, TrackerSettings


def build_consumer(settings: TrackerSettings, jobs: intake.JobWriter) -> BatchConsumer:
    async def handle(batch: list[Received]) -> Outcome:
        return await intake.take_in(
            events_of(batch, OrderCreated), events_of(batch, StatusChanged), jobs, datetime.now(UTC)
        )

    return BatchConsumer(
        BatchConsumerConfig.order_events(
            settings, service=SERVICE, group_id=settings.consumer_group
        ),
        handle,
    )
