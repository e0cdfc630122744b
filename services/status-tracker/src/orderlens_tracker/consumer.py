"""Kafka entrypoint: order events in, tracking jobs out (consumer group orderlens-status-tracker).

The subscribers only turn a batch into a call of `intake.read` and `intake.apply`; the shared
`orderlens.consumer.BatchConsumer` does the at-least-once work (manual commits after the writes,
dead letters, retries with backoff, metrics).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker

from orderlens.consumer import BatchConsumer, BatchConsumerConfig, Outcome, Received
from orderlens.events import EventType
from orderlens_tracker import intake
from orderlens_tracker.jobs import JobStore
from orderlens_tracker.settings import TrackerSettings

SERVICE = "status-tracker"


def build_consumers(settings: TrackerSettings, jobs: JobStore) -> list[BatchConsumer]:
    async def handle(events: list[Received]) -> Outcome:
        plan = intake.read([received.event for received in events])
        await intake.apply(plan, jobs, datetime.now(UTC))
        return Outcome(applied=len(events) - len(plan.ignored), ignored=Counter(plan.ignored))

    topics = (
        (settings.topic_orders_created, EventType.ORDER_CREATED),
        (settings.topic_status_changed, EventType.STATUS_CHANGED),
    )
    return [
        BatchConsumer(
            BatchConsumerConfig(
                service=SERVICE,
                topic=topic,
                group_id=settings.consumer_group,
                dead_letter_topic=settings.topic_dead_letter,
                expected_type=expected,
            ),
            handle,
        )
        for topic, expected in topics
    ]


def attach(consumers: list[BatchConsumer], broker: KafkaBroker) -> None:
    for consumer in consumers:
        consumer.attach(broker)
