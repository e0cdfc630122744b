"""Kafka entry point: order events become one queued delivery per matching subscription."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from orderlens.consumer import BatchConsumer, BatchConsumerConfig, Outcome, Received
from orderlens_notifier.adapters.store import MongoStore
from orderlens_notifier.service import fan_out
from orderlens_notifier.settings import SERVICE, NotifierSettings
from orderlens_notifier.worker import Dispatcher


def events_handler(
    store: MongoStore, dispatcher: Dispatcher
) -> Callable[[list[Received]], Awaitable[Outcome]]:
    async def apply(events: list[Received]) -> Outcome:
        outcome = Outcome()
        # Subscriptions as stored now: one created a moment ago gets the next event.
        await dispatcher.refresh()
        subscriptions = dispatcher.subscriptions
        for received in events:
            queued = await fan_out(
                store, subscriptions, received.event, received.value, datetime.now(UTC)
            )
            if queued:
                outcome.applied += 1
            else:
                outcome.ignore("no subscriber")
        dispatcher.wake_all()
        return outcome

    return apply


def events_consumer(
    settings: NotifierSettings, store: MongoStore, dispatcher: Dispatcher
) -> BatchConsumer:
    return BatchConsumer(
        BatchConsumerConfig.order_events(
            settings, service=SERVICE, group_id=settings.notifier_group_id, max_records=200
        ),
        events_handler(store, dispatcher),
    )
