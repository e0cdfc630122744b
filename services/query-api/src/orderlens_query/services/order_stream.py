"""The order stream of GET /v1/orders/stream: order events, as server-sent events.

Each connection reads `orders.created` and `orders.status-changed` with a consumer of its own
(no group, so no rebalance and no committed offsets), keeps only the token's shops, and sends a
summary carrying no buyer PII at all, so every role may see it unmasked (docs/contract.md §5.1):
order id, shop, the status it asks for and its tab. The SSE `id` is the position after the
event in every partition read, so `Last-Event-ID` resumes exactly after it (docs/decisions/0103).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from orderlens.domain.status import view_of
from orderlens.events import EventType, InvalidEvent, OrderCreated, StatusChanged, decode
from orderlens.tokens import Principal

HEARTBEAT_SECONDS = 15.0
Position = dict[str, int]  # "topic:partition" -> next offset to read


class BadPosition(ValueError):
    pass


def encode_position(position: Position) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(value: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        data = json.loads(raw)
    except (ValueError, TypeError):
        raise BadPosition("Last-Event-ID is not a stream position") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in data.items()
    ):
        raise BadPosition("Last-Event-ID is not a stream position")
    return data


@dataclass(frozen=True)
class StreamEvent:
    kind: str  # "created" or "status_changed"
    order_id: str
    shop_id: str
    status: str | None
    view: str | None
    at: str

    def payload(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "order_id": self.order_id,
            "shop_id": self.shop_id,
            "status": self.status,
            "view": self.view,
            "at": self.at,
        }


def stream_event(raw: bytes) -> StreamEvent | None:
    """The visible part of an order event (None for events the stream does not show)."""
    try:
        event = decode(raw)
    except InvalidEvent:
        return None
    data = event.data
    if event.type is EventType.ORDER_CREATED and isinstance(data, OrderCreated):
        status = data.order.status
        return StreamEvent(
            "created",
            event.subject,
            data.shop_id,
            status.value,
            view_of(status).value,
            event.time.isoformat(),
        )
    if event.type is EventType.STATUS_CHANGED and isinstance(data, StatusChanged):
        return StreamEvent(
            "status_changed",
            data.order_id,
            data.shop_id,
            data.status.value if data.status else None,
            view_of(data.status).value if data.status else None,
            event.time.isoformat(),
        )
    return None


async def order_events(
    principal: Principal,
    *,
    bootstrap_servers: str,
    topics: tuple[str, ...],
    resume: Position | None,
    order_ids: frozenset[str] | None = None,
) -> AsyncIterator[tuple[str, StreamEvent | None]]:
    """(position, event) pairs; event None is a heartbeat (nothing new for a while).

    `order_ids`, when given, narrows the token's shops to those orders (a buyer's stream)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(
                consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)
            )
        ]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        position: Position = {}
        for tp in partitions:
            key = f"{tp.topic}:{tp.partition}"
            offset = (resume or {}).get(key, ends[tp])
            consumer.seek(tp, offset)
            position[key] = offset
        shops = set(principal.shops)
        # A first heartbeat says the stream is positioned: what is published from now on comes.
        yield encode_position(position), None
        while True:
            batch = await consumer.getmany(timeout_ms=int(HEARTBEAT_SECONDS * 1000))
            if not batch:
                yield encode_position(position), None
                continue
            for tp, records in batch.items():
                for record in records:
                    position[f"{tp.topic}:{tp.partition}"] = record.offset + 1
                    found = stream_event(record.value) if record.value else None
                    if found is None or found.shop_id not in shops:
                        continue
                    if order_ids is not None and found.order_id not in order_ids:
                        continue
                    yield encode_position(position), found
    finally:
        await consumer.stop()


async def positioned(
    events: AsyncIterator[tuple[str, StreamEvent | None]],
) -> AsyncIterator[tuple[str, StreamEvent | None]]:
    """`events` once its consumer is positioned (its first pair read), before any answer is
    sent: a Kafka outage raises here, as a 503 problem, not inside a 200 (docs/decisions/0206)."""
    first = await anext(events)

    async def from_first() -> AsyncIterator[tuple[str, StreamEvent | None]]:
        yield first
        async for pair in events:
            yield pair

    return from_first()


async def sse_frames(events: AsyncIterator[tuple[str, StreamEvent | None]]) -> AsyncIterator[bytes]:
    """The pairs of `order_events` as server-sent events: `ready` once positioned, then `order`
    events, and a comment line as heartbeat."""
    ready = False
    async for position, event in events:
        if not ready:
            # The consumer is positioned: whatever is published from now on will come.
            ready = True
            yield f"id: {position}\nevent: ready\ndata: {{}}\n\n".encode()
        elif event is None:
            yield f": heartbeat\nid: {position}\n\n".encode()
        else:
            data = json.dumps(event.payload(), separators=(",", ":"))
            yield f"id: {position}\nevent: order\ndata: {data}\n\n".encode()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or {0}
