"""Kafka entry point: order events (orders.created, orders.status-changed) → `fan_out`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from orderlens.consumer import BatchConsumer, BatchConsumerConfig, Outcome, Received

from ..service import Queue, Subscriptions, fan_out
from ..settings import SERVICE, DispatcherSettings


def events_handler(
    subscriptions: Subscriptions, queue: Queue, wake: Callable[[set[str]], None]
) -> Callable[[list[Received]], Awaitable[Outcome]]:
    async def apply(events: list[Received]) -> Outcome:
        # Returns once the deliveries are durable; only then are the offsets committed.
        outcome, touched = await fan_out(events, subscriptions, queue, datetime.now(UTC))
        wake(touched)
        return outcome

    return apply


def events_consumer(
    settings: DispatcherSettings,
    subscriptions: Subscriptions,
    queue: Queue,
    wake: Callable[[set[str]], None],
) -> BatchConsumer:
    # Both topics in one subscriber, co-partitioned: every event of an order id reaches this
    # consumer in order, so the queues get them in order (docs/contract.md §3.1).
    return BatchConsumer(
        BatchConsumerConfig.order_events(
            settings, service=SERVICE, group_id=settings.webhook_group_id
        ),
        events_handler(subscriptions, queue, wake),
    )
