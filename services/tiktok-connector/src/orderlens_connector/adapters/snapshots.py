"""orders.created snapshots: the order as Get Order Detail returned it (docs/contract.md §3.3)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from orderlens.events import OrderCreated, StatusChanged, encode, make_event
from orderlens.kafka import CLOUDEVENTS_CONTENT_TYPE
from orderlens.tiktok import TikTokOrder

from ..settings import EVENT_SOURCE


class KafkaSnapshotPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, shop_id: str, order: TikTokOrder) -> None:
        event = make_event(
            OrderCreated(shop_id=shop_id, order=order), source=EVENT_SOURCE, subject=order.id
        )
        await self._producer.send_and_wait(
            self._topic,
            encode(event),
            key=order.id.encode(),
            headers=[
                ("content-type", CLOUDEVENTS_CONTENT_TYPE.encode()),
                ("ce-type", event.type.value.encode()),
            ],
        )


class KafkaRefusalPublisher:
    """TikTok's refusal of a seller action, as an orders.status-changed event (source system)."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def refused(self, change: StatusChanged) -> None:
        event = make_event(change, source=EVENT_SOURCE, subject=change.order_id)
        await self._producer.send_and_wait(
            self._topic,
            encode(event),
            key=change.order_id.encode(),
            headers=[
                ("content-type", CLOUDEVENTS_CONTENT_TYPE.encode()),
                ("ce-type", event.type.value.encode()),
            ],
        )
