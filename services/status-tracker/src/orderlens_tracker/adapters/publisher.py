"""Publishing the tracker's `orders.status-changed` events (docs/contract.md §3.4)."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from orderlens.events import CloudEvent, StatusChanged
from orderlens.kafka import publish_event


class StatusPublisher:
    def __init__(self, broker: KafkaBroker, topic: str) -> None:
        self._broker = broker
        self._topic = topic

    async def __call__(self, event: CloudEvent[StatusChanged]) -> None:
        await publish_event(self._broker, self._topic, event)
