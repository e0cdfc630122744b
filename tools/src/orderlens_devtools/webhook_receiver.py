"""A webhook receiver served over real HTTP, and sample order events, for the webhook tests and
`bench/webhook_latency.py` (dev tooling: never in a service image).

- `Receiver`: answers `status` after `delay` seconds, verifies each signature with its `secret`
  (`orderlens.webhooks.verify`) and records what it accepted; a test flips `status` to make
  the subscriber fail or recover.
- `receivers(*r)`: serves them on free ports (sets each `url`).
- `subscription(shop, receiver)`: the stored subscription query-api would write for it.
- `order_created`, `status_changed`, `publish`: events on Kafka, keyed by order id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderlens.events import (
    CloudEvent,
    OrderCreated,
    StatusChanged,
    StatusSource,
    encode,
    make_event,
)
from orderlens.tiktok import TikTokOrder
from orderlens.webhooks import (
    EVENT_TYPES,
    LOCAL_DEV_SECRET_KEY,
    SecretBox,
    SignatureInvalid,
    Subscription,
    new_secret,
    new_subscription_id,
    secret_hint,
    verify,
)
from orderlens_devtools.asgi import free_port, serve


@dataclass
class Received:
    event_id: str
    order_id: str
    body: dict[str, Any]
    signature_valid: bool
    at: datetime


@dataclass
class Receiver:
    """A subscriber's endpoint: answers `status` (200 by default) after `delay` seconds and
    records what it got (only what it answered 2xx counts as accepted)."""

    secret: str = field(default_factory=new_secret)
    status: int = 200
    delay: float = 0.0
    accepted: list[Received] = field(default_factory=list)
    refused: int = 0
    url: str = ""

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if self.delay:
            await asyncio.sleep(self.delay)  # the subscriber is slow: that is what it simulates
        if self.status >= 300:
            self.refused += 1
            return Response(status_code=self.status)
        try:
            verify([self.secret], dict(request.headers), body, datetime.now(UTC))
            valid = True
        except SignatureInvalid:
            valid = False
        event = json.loads(body)
        self.accepted.append(
            Received(event["id"], event["subject"], event, valid, datetime.now(UTC))
        )
        return Response(status_code=204)

    def ids(self) -> list[str]:
        return [r.event_id for r in self.accepted]

    def per_order(self) -> dict[str, list[str]]:
        orders: dict[str, list[str]] = {}
        for r in self.accepted:
            orders.setdefault(r.order_id, []).append(r.event_id)
        return orders


@asynccontextmanager
async def receivers(*receivers_: Receiver) -> AsyncIterator[None]:
    """Serve each receiver over real HTTP on its own free port."""
    async with AsyncExitStack() as stack:
        for receiver in receivers_:
            app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
            base = await stack.enter_async_context(serve(app, free_port()))
            receiver.url = f"{base}/hook"
        yield


def subscription(shop_id: str, receiver: Receiver, *event_types: Any) -> Subscription:
    now = datetime.now(UTC)
    return Subscription(
        id=new_subscription_id(),
        shop_id=shop_id,
        url=receiver.url,
        event_types=tuple(event_types or EVENT_TYPES),
        secret_cipher=SecretBox(LOCAL_DEV_SECRET_KEY).seal(receiver.secret),
        secret_hint=secret_hint(receiver.secret),
        active=True,
        description="test",
        created_at=now,
        updated_at=now,
        created_by="test-admin",
    )


def order_created(order_id: str, shop_id: str) -> CloudEvent[Any]:
    now = int(datetime.now(UTC).timestamp())
    order = TikTokOrder.model_validate(
        {
            "id": order_id,
            "status": "AWAITING_SHIPMENT",
            "create_time": now,
            "update_time": now,
            "payment": {"currency": "USD", "total_amount": "12.50"},
            "line_items": [
                {"id": "li-1", "sku_id": "sku-1", "product_name": "Mug", "sale_price": "12.50"}
            ],
        }
    )
    return make_event(OrderCreated(shop_id=shop_id, order=order), source="tests", subject=order_id)


def status_changed(order_id: str, shop_id: str, status: str = "IN_TRANSIT") -> CloudEvent[Any]:
    data = StatusChanged.model_validate(
        {
            "order_id": order_id,
            "shop_id": shop_id,
            "occurred_at": datetime.now(UTC),
            "source": StatusSource.CARRIER,
            "status": status,
        }
    )
    return make_event(data, source="tests", subject=order_id)


async def publish(producer: AIOKafkaProducer, topic: str, events: list[CloudEvent[Any]]) -> None:
    for event in events:
        await producer.send_and_wait(topic, encode(event), key=event.subject.encode())
