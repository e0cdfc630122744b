"""The webhook use cases: fan an event out to the matching subscriptions, deliver the oldest
due delivery of one subscription, park what keeps failing, replay what was parked.

Each subscription is its own queue, drained by its own worker (`worker.py`) strictly in
arrival order: a failing receiver holds back only its own later events (so they arrive in
order per order id once it recovers), and a slow one never delays another (decision 0121).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from orderlens.events import CloudEvent
from orderlens.webhook_signing import EVENT_ID_HEADER, SIGNATURE_HEADER, sign


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    PARKED = "parked"


@dataclass(frozen=True)
class Subscription:
    id: str
    shop_id: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    replay_requested_at: datetime | None = None

    def wants(self, event: CloudEvent[Any]) -> bool:
        shop = getattr(event.data, "shop_id", None)
        return shop == self.shop_id and (not self.event_types or event.type in self.event_types)


@dataclass(frozen=True)
class Delivery:
    id: str
    subscription_id: str
    event_id: str
    subject: str
    body: str
    seq: int
    state: DeliveryState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta
    cap: timedelta
    max_age: timedelta

    def delay(self, attempts: int) -> timedelta:
        factor: int = 2 ** min(attempts - 1, 40)
        return min(self.cap, self.base * factor)


class DeliveryFailed(Exception):
    pass


Send = Callable[[str, dict[str, str], bytes], Awaitable[None]]


class Store(Protocol):
    async def subscriptions(self) -> list[Subscription]: ...
    async def enqueue(self, delivery: Delivery) -> bool: ...
    async def next_pending(self, subscription_id: str) -> Delivery | None: ...
    async def save(self, delivery: Delivery) -> None: ...
    async def requeue_parked(self, subscription_id: str, now: datetime) -> int: ...


_last_seq = 0


def next_seq() -> int:
    """Increasing within the process: the consumer reads a partition in order, so arrival order
    is Kafka order per order id."""
    global _last_seq
    _last_seq = max(_last_seq + 1, time.time_ns())
    return _last_seq


async def fan_out(
    store: Store,
    subscriptions: list[Subscription],
    event: CloudEvent[Any],
    body: bytes,
    now: datetime,
) -> int:
    queued = 0
    for subscription in subscriptions:
        if not subscription.wants(event):
            continue
        delivery = Delivery(
            id=f"{subscription.id}:{event.id}",
            subscription_id=subscription.id,
            event_id=event.id,
            subject=event.subject,
            body=body.decode(),
            seq=next_seq(),
            state=DeliveryState.PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        queued += await store.enqueue(delivery)
    return queued


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def deliver_due(
    store: Store, subscription: Subscription, send: Send, policy: RetryPolicy, now: datetime
) -> bool:
    """Attempt the subscription's oldest pending delivery if it is due; True if one was tried."""
    head = await store.next_pending(subscription.id)
    if head is None or _aware(head.next_attempt_at) > now:
        return False
    body = head.body.encode()
    headers = {
        "Content-Type": "application/cloudevents+json",
        EVENT_ID_HEADER: head.event_id,
        SIGNATURE_HEADER: sign(subscription.secret, body, int(now.timestamp())),
    }
    try:
        await send(subscription.url, headers, body)
    except DeliveryFailed as exc:
        attempts = head.attempts + 1
        parked = now - _aware(head.created_at) >= policy.max_age
        await store.save(
            replace(
                head,
                attempts=attempts,
                state=DeliveryState.PARKED if parked else DeliveryState.PENDING,
                next_attempt_at=now + policy.delay(attempts),
                last_error=str(exc)[:500],
            )
        )
        return True
    await store.save(replace(head, attempts=head.attempts + 1, state=DeliveryState.DELIVERED))
    return True


async def replay(store: Store, subscription_id: str, now: datetime) -> int:
    """Parked deliveries of a subscription become pending again, oldest first as before."""
    return await store.requeue_parked(subscription_id, now)
