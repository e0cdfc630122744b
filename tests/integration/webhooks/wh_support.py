"""Real HTTP receivers for the webhook tests, the dispatcher in-process, and events on Kafka."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
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
from orderlens_devtools.devstack.proc import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    try:
        for receiver in receivers_:
            port = free_port()
            app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
            )
            task = asyncio.create_task(server.serve())
            servers.append((server, task))
            await asyncio.to_thread(
                wait_until, lambda s=server: s.started, timeout=10, what="receiver", interval=0.02
            )
            receiver.url = f"http://127.0.0.1:{port}/hook"
        yield
    finally:
        for server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in servers), return_exceptions=True)


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
