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
from orderlens.events import EventType
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
        BatchConsumerConfig(
            service=SERVICE,
            topic=settings.topic_orders_created,
            extra_topics=(settings.topic_status_changed,),
            expected_types={
                settings.topic_orders_created: EventType.ORDER_CREATED,
                settings.topic_status_changed: EventType.STATUS_CHANGED,
            },
            group_id=settings.consumer_group,
            dead_letter_topic=settings.topic_dead_letter,
        ),
        handle,
    )
