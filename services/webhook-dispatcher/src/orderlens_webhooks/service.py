"""The use cases of the webhook dispatcher (docs/contract.md §3.7; decision 0170).

- `fan_out`: a batch of order events → one queued delivery per interested subscription; for one
  that gets both types, an order's creation goes before its status changes even when it was
  read later (the queue holds them for it a while, decision 0225).
- `due_heads`: of a subscription's pending deliveries, the first of each order id (only it may
  go: per order id, per subscription, deliveries are strictly in order), and which are due.
- `attempt`: one signed attempt of one delivery, and what follows from its answer: delivered,
  tried again after a jittered exponential wait, or parked once the retry window is over.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from orderlens.consumer import Outcome, Received
from orderlens.events import EventType, OrderCreated, StatusChanged, encode
from orderlens.webhooks import RetrySchedule, Subscription

from .adapters.deliveries import Delivery, NewDelivery
from .adapters.metrics import DELIVERIES, DELIVERY_LATENCY, ENQUEUED
from .adapters.sender import Attempt

log = logging.getLogger("orderlens.webhooks")


class Subscriptions(Protocol):
    async def for_shops(self, shop_ids: Sequence[str]) -> list[Subscription]: ...


class Queue(Protocol):
    async def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> int: ...

    async def delivered(self, d: Delivery, now: datetime, status: int | None) -> None: ...

    async def retry(
        self,
        d: Delivery,
        now: datetime,
        *,
        first_attempt_at: datetime,
        next_attempt_at: datetime,
        status: int | None,
        error: str | None,
    ) -> None: ...

    async def park(
        self, d: Delivery, now: datetime, *, status: int | None, error: str | None
    ) -> int: ...


class Sender(Protocol):
    async def send(
        self, url: str, secret: str, message_id: str, body: bytes, now: datetime
    ) -> Attempt: ...


def _shop_of(received: Received) -> str:
    data = received.event.data
    assert isinstance(data, OrderCreated | StatusChanged)
    return data.shop_id


def in_order(events: Sequence[Received]) -> list[Received]:
    """The batch with each order id's events in order. Kafka orders a partition only: an
    order's creation and its status changes are on two topics, and a batch may hold them in
    either order. Per order id, each topic's events keep their order and the two are merged
    by the events' `time` (docs/contract.md §3.7)."""
    by_order: dict[str, dict[str, list[Received]]] = {}
    for r in events:
        by_order.setdefault(r.event.subject, {}).setdefault(r.topic, []).append(r)
    ordered: list[Received] = []
    for per_topic in by_order.values():
        queues = [list(reversed(q)) for q in per_topic.values()]
        while queues:
            first = min(queues, key=lambda q: q[-1].event.time)
            ordered.append(first.pop())
            queues = [q for q in queues if q]
    return ordered


async def fan_out(
    events: Sequence[Received], subscriptions: Subscriptions, queue: Queue, now: datetime
) -> tuple[Outcome, set[str]]:
    """Queue every event for every active subscription of its shop that wants its type, in
    batch order; answer the metrics outcome and the subscriptions that got new work."""
    wanted = await subscriptions.for_shops(sorted({_shop_of(r) for r in events}))
    outcome = Outcome()
    deliveries: list[NewDelivery] = []
    for received in in_order(events):
        event = received.event
        shop_id = _shop_of(received)
        # The CloudEvent as the contract defines it (structured JSON; `id` for deduplication).
        body = encode(event)
        matched = [s for s in wanted if s.shop_id == shop_id and s.wants(event.type)]
        if not matched:
            outcome.ignore("no subscription")
            continue
        outcome.applied += 1
        deliveries.extend(
            NewDelivery(
                subscription_id=s.id,
                shop_id=shop_id,
                event_id=event.id,
                event_type=event.type.value,
                order_id=event.subject,
                event_time=event.time,
                body=body,
                creation_first=s.wants(EventType.ORDER_CREATED)
                and s.wants(EventType.STATUS_CHANGED),
            )
            for s in matched
        )
    new = await queue.enqueue(deliveries, now) if deliveries else 0
    ENQUEUED.inc(new)
    return outcome, {d.subscription_id for d in deliveries}


@dataclass(frozen=True)
class Heads:
    due: list[Delivery]
    next_due_at: datetime | None


def due_heads(pending: Sequence[Delivery], now: datetime) -> Heads:
    """`pending` sorted by `seq`: the first delivery of each order id; those due now, and when
    the earliest of the others falls due."""
    seen: set[str] = set()
    due: list[Delivery] = []
    later: datetime | None = None
    for d in pending:
        if d.order_id in seen:
            continue
        seen.add(d.order_id)
        if d.next_attempt_at <= now:
            due.append(d)
        elif later is None or d.next_attempt_at < later:
            later = d.next_attempt_at
    return Heads(due, later)


async def attempt(
    d: Delivery,
    subscription: Subscription,
    secret: str,
    *,
    sender: Sender,
    queue: Queue,
    schedule: RetrySchedule,
    now: datetime,
    rng: random.Random | None = None,
) -> str:
    """One attempt with the subscription's opened `secret`; answers `delivered`, `retry` or
    `parked`."""
    result = await sender.send(subscription.url, secret, d.event_id, d.body, now)
    if result.ok:
        await queue.delivered(d, now, result.status)
        DELIVERIES.labels("delivered").inc()
        DELIVERY_LATENCY.observe(max(0.0, (now - d.event_time).total_seconds()))
        return "delivered"
    first = d.first_attempt_at or now
    if schedule.expired(first, now):
        parked = await queue.park(d, now, status=result.status, error=result.error)
        DELIVERIES.labels("parked").inc()
        log.warning(
            "webhook delivery parked after its retry window",
            extra={
                "subscription_id": subscription.id,
                "event_id": d.event_id,
                "attempts": d.attempts + 1,
                "parked": parked,
                "error": result.error,
            },
        )
        return "parked"
    await queue.retry(
        d,
        now,
        first_attempt_at=first,
        next_attempt_at=now + schedule.delay(d.attempts + 1, rng),
        status=result.status,
        error=result.error,
    )
    DELIVERIES.labels("retry").inc()
    return "retry"
