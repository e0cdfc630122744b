"""Notifier test support: events to publish, tokens, and the `Stack` that publishes them and
reads the inbox (GET /v1/inbox) and the mail outbox as a user would."""

from __future__ import annotations

import email
import email.policy
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.events import (
    CheckpointData,
    CloudEvent,
    ExportCompleted,
    OrderCreated,
    PackageUpdate,
    StatusChanged,
    StatusSource,
    encode,
    make_event,
)
from orderlens.roles import Role
from orderlens.tiktok import TikTokOrder
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import TopicNames
from orderlens_notifier.app import NotifierApp, build
from orderlens_notifier.settings import NotifierSettings

SHOP = "7000000101"
OTHER_SHOP = "7000000202"
BUYER_PAGES = "http://console.test/buyer"
PARTITIONER = DefaultPartitioner()


def new_order_id() -> str:
    return f"58{uuid.uuid4().int % 10**16:016d}"


def order_event(
    order_id: str,
    *,
    shop: str = SHOP,
    status: str = "AWAITING_SHIPMENT",
    buyer: str | None = None,
    email_to: str | None = None,
    tracking_number: str | None = None,
    age: timedelta = timedelta(hours=1),
) -> CloudEvent[OrderCreated]:
    now = int(time.time())
    package_id = f"pkg-{order_id}"
    line: dict[str, Any] = {"sku_id": "sku-1", "product_name": "Ceramic mug", "sale_price": "12.50"}
    order: dict[str, Any] = {
        "id": order_id,
        "status": status,
        "create_time": now - int(age.total_seconds()),
        "update_time": now - 60,
        "paid_time": now - int(age.total_seconds()) + 60,
        "payment": {"currency": "USD", "total_amount": "25.00"},
        "line_items": [{**line, "id": f"{order_id}-1"}, {**line, "id": f"{order_id}-2"}],
        "user_id": buyer,
        "buyer_email": email_to,
    }
    if tracking_number:
        for item in order["line_items"]:
            item.update(
                package_id=package_id,
                tracking_number=tracking_number,
                shipping_provider_name="simpost",
            )
        order.update(
            packages=[{"id": package_id}],
            tracking_number=tracking_number,
            shipping_provider="simpost",
        )
    return make_event(
        OrderCreated(shop_id=shop, order=TikTokOrder.model_validate(order)),
        source="tests/notifier",
        subject=order_id,
    )


def status_event(
    order_id: str,
    *,
    shop: str = SHOP,
    status: str | None = None,
    return_status: str | None = None,
    tracking: str | None = None,
    message: str | None = None,
    source: StatusSource = StatusSource.CARRIER,
    at: datetime | None = None,
) -> CloudEvent[StatusChanged]:
    at = at or datetime.now(UTC)
    package = None
    if tracking is not None:
        package = PackageUpdate(
            package_id=f"pkg-{order_id}",
            carrier="simpost",
            tracking_number=f"SIMT{order_id[-10:]}",
            tracking_status=tracking,
            checkpoints=[CheckpointData(at=at, status=tracking, message=message)],
        )
    return make_event(
        StatusChanged(
            order_id=order_id,
            shop_id=shop,
            occurred_at=at,
            source=source,
            status=status,
            return_status=return_status,
            reason="Buyer changed their mind" if return_status else None,
            package=package,
        ),
        source="tests/notifier",
        subject=order_id,
    )


def token(
    sub: str, role: Role = Role.ADMIN, shops: tuple[str, ...] = (SHOP,), buyer: str | None = None
) -> str:
    minted: str = mint_token(
        sub=sub, role=role, shops=list(shops), secret=LOCAL_DEV_SECRET, buyer_user_id=buyer
    )
    return minted


@dataclass
class Stack:
    db: AsyncDatabase[dict[str, Any]]
    topics: TopicNames
    producer: AIOKafkaProducer
    api: httpx.AsyncClient
    outbox: Path
    settings: NotifierSettings
    notifier: NotifierApp
    partitions: list[int]

    async def publish(self, *events: CloudEvent[Any]) -> None:
        for event in events:
            data = event.data
            topic = (
                self.topics.created
                if isinstance(data, OrderCreated)
                else self.topics.export_completed
                if isinstance(data, ExportCompleted)
                else self.topics.status_changed
            )
            await self.producer.send_and_wait(topic, encode(event), key=event.subject.encode())

    async def marker_after(self, order_id: str) -> None:
        """Publish a marker order on the partitions of `order_id` (both order topics) and wait
        for its two items: every event of `order_id` published before it has been handled."""
        marker = new_order_id()
        while PARTITIONER(marker.encode(), self.partitions, self.partitions) != PARTITIONER(
            order_id.encode(), self.partitions, self.partitions
        ):
            marker = new_order_id()
        await self.publish(order_event(marker), status_event(marker, return_status="REQUESTED"))
        admin = token("marker-reader")
        await self.wait_item(admin, "new_order", marker)
        await self.wait_item(admin, "return_requested", marker)

    async def inbox(self, bearer: str, **params: str) -> dict[str, Any]:
        response = await self.api.get(
            "/v1/inbox", params=params, headers={"Authorization": f"Bearer {bearer}"}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def items(self, bearer: str, **params: str) -> list[dict[str, Any]]:
        """Every item the caller sees, page after page."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.inbox(
                bearer, limit="100", **params, **({"cursor": cursor} if cursor else {})
            )
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    async def wait_item(self, bearer: str, kind: str, order_id: str, within: float = 30) -> None:
        async def there() -> bool:
            found = await self.items(bearer, kind=kind, order_id=order_id)
            return len(found) > 0

        await wait_for(there, within, f"a {kind} item of order {order_id} in the inbox")

    def mails(self, to: str | None = None) -> list[EmailMessage]:
        found = []
        for path in sorted(self.outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            if to is None or message["To"] == to:
                found.append(message)
        return found

    async def wait_mail(self, to: str, subject_part: str, within: float = 30) -> EmailMessage:
        async def there() -> bool:
            return any(subject_part in str(m["Subject"]) for m in self.mails(to))

        await wait_for(there, within, f"a mail to {to} about {subject_part!r}")
        return next(m for m in self.mails(to) if subject_part in str(m["Subject"]))

    async def restart_notifier(self, **overrides: Any) -> NotifierApp:
        """A new notifier process: stop the running one, start another with `overrides`."""
        await self.notifier.stop()
        self.settings = self.settings.model_copy(update=overrides)
        self.notifier = build(self.settings)
        await self.notifier.start()
        return self.notifier
