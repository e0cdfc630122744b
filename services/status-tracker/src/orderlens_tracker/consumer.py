"""Kafka entrypoint: order events in, tracking jobs out (consumer group orderlens-status-tracker).

One subscriber reads both topics, so all events of one order (same key, same partition number)
come to one consumer in order: a cancellation is not applied before the order it cancels. The
subscriber only turns a batch into a call of `intake.read` and `intake.apply`; the shared
`orderlens.consumer.BatchConsumer` does the at-least-once work (manual commits after the writes,
dead letters, retries with backoff, metrics).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from orderlens.consumer import BatchConsumer, BatchConsumerConfig, Outcome, Received
from orderlens_tracker import intake
from orderlens_tracker.jobs import JobStore
from orderlens_tracker.settings import TrackerSettings

SERVICE = "status-tracker"


def build_consumer(settings: TrackerSettings, jobs: JobStore) -> BatchConsumer:
    async def handle(events: list[Received]) -> Outcome:
        plan = intake.read([received.event for received in events])
        await intake.apply(plan, jobs, datetime.now(UTC))
        return Outcome(applied=len(events) - len(plan.ignored), ignored=Counter(plan.ignored))

    return BatchConsumer(
        BatchConsumerConfig.order_events(
            settings, service=SERVICE, group_id=settings.consumer_group
        ),
        handle,
    )
