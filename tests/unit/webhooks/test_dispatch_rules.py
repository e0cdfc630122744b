"""The dispatcher's use cases with in-memory fakes: which deliveries may go (one per order id,
due ones), an order's events in order across the two topics, and what an attempt leads to."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from orderlens.consumer import Received
from orderlens.events import EventType
from orderlens.webhooks import RetrySchedule, Subscription
from orderlens_devtools.webhook_receiver import Receiver, order_created, status_changed
from orderlens_devtools.webhook_receiver import subscription as make_subscription
from orderlens_webhooks.adapters.deliveries import Delivery, NewDelivery
from orderlens_webhooks.adapters.sender import Attempt
from orderlens_webhooks.service import attempt, due_heads, fan_out, in_order

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def delivery(seq: int, order_id: str, due_in: float = 0, attempts: int = 0) -> Delivery:
    return Delivery(
        id=f"s:{seq}",
        subscription_id="s",
        event_id=f"evt-{seq}",
        order_id=order_id,
        seq=seq,
        body=b"{}",
        attempts=attempts,
        event_time=NOW,
        next_attempt_at=NOW + timedelta(seconds=due_in),
        first_attempt_at=None if attempts == 0 else NOW - timedelta(minutes=1),
    )


def test_only_the_first_pending_delivery_of_each_order_may_go() -> None:
    pending = [
        delivery(1, "a", due_in=30),  # a's head is waiting for its retry: a's others wait too
        delivery(2, "b"),
        delivery(3, "a"),
        delivery(4, "b"),
        delivery(5, "c", due_in=5),
    ]
    heads = due_heads(pending, NOW)
    assert [d.seq for d in heads.due] == [2]
    assert heads.next_due_at == NOW + timedelta(seconds=5)


def received(event: Any, topic: str, offset: int) -> Received:
    return Received(event, topic, 0, offset, event.subject.encode(), b"")


def test_an_orders_events_from_both_topics_are_in_time_order_each_topic_in_its_own() -> None:
    created = order_created("o1", "shop")
    first = status_changed("o1", "shop")
    second = status_changed("o1", "shop", "DELIVERED")
    other = order_created("o2", "shop")
    # The batch holds the status changes first (another topic's partition came first).
    batch = [
        received(first, "changed", 0),
        received(other, "created", 0),
        received(second, "changed", 1),
        received(created, "created", 1),
    ]
    ordered = [r.event.id for r in in_order(batch) if r.event.subject == "o1"]
    assert ordered == [created.id, first.id, second.id]
    # A topic's own order wins over a clock that went backwards.
    late = replace_time(second, first.time - timedelta(seconds=1))
    ordered = [r.event.id for r in in_order([received(first, "c", 0), received(late, "c", 1)])]
    assert ordered == [first.id, late.id]


def replace_time(event: Any, when: datetime) -> Any:
    return event.model_copy(update={"time": when})


@dataclass
class FakeQueue:
    queued: list[NewDelivery] = field(default_factory=list)
    outcomes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        self.queued.extend(deliveries)
        return len(deliveries)

    async def delivered(self, d: Delivery, now: datetime, status: int | None) -> None:
        self.outcomes.append(("delivered", {"status": status}))

    async def retry(self, d: Delivery, now: datetime, **kw: Any) -> None:
        self.outcomes.append(("retry", kw))

    async def park(self, d: Delivery, now: datetime, **kw: Any) -> int:
        self.outcomes.append(("parked", kw))
        return 1


@dataclass
class FakeSubscriptions:
    subscriptions: list[Subscription]

    async def for_shops(self, shop_ids: Sequence[str]) -> list[Subscription]:
        return [s for s in self.subscriptions if s.shop_id in shop_ids]


async def test_fan_out_queues_each_event_for_each_interested_subscription() -> None:
    receiver = Receiver(url="https://hooks.example.com/x")
    both = make_subscription("shop", receiver)
    created_only = make_subscription("shop", receiver, EventType.ORDER_CREATED)
    paused = replace(make_subscription("shop", receiver), active=False)
    foreign = make_subscription("other", receiver)
    queue = FakeQueue()
    events = [order_created("o1", "shop"), status_changed("o1", "shop")]
    outcome, touched = await fan_out(
        [received(e, "t", i) for i, e in enumerate(events)],
        FakeSubscriptions([both, created_only, paused, foreign]),
        queue,
        NOW,
    )
    assert sorted((d.subscription_id, d.event_id) for d in queue.queued) == sorted(
        [(both.id, events[0].id), (both.id, events[1].id), (created_only.id, events[0].id)]
    )
    assert touched == {both.id, created_only.id}
    # Only a subscription getting both types keeps an order's creation before its changes.
    assert {d.subscription_id for d in queue.queued if d.creation_first} == {both.id}
    assert outcome.applied == 2


@dataclass
class FakeSender:
    answer: Attempt
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    async def send(
        self, url: str, secret: str, message_id: str, body: bytes, now: datetime
    ) -> Attempt:
        self.sent.append((url, secret, message_id))
        return self.answer


async def test_an_attempt_delivers_retries_with_backoff_or_parks_after_the_window() -> None:
    sub = make_subscription("shop", Receiver(url="https://hooks.example.com/x"))
    schedule = RetrySchedule(base=timedelta(seconds=5), max_age=timedelta(hours=24))
    rng = random.Random(3)

    async def one(answer: Attempt, d: Delivery) -> tuple[str, FakeQueue, FakeSender]:
        queue, sender = FakeQueue(), FakeSender(answer)
        result = await attempt(
            d, sub, "whsec_x", sender=sender, queue=queue, schedule=schedule, now=NOW, rng=rng
        )
        return result, queue, sender

    ok, queue, sender = await one(Attempt(True, 204, None), delivery(1, "a"))
    assert ok == "delivered"
    assert sender.sent == [(sub.url, "whsec_x", "evt-1")]

    failed, queue, _ = await one(Attempt(False, 503, "HTTP 503"), delivery(1, "a"))
    assert failed == "retry"
    assert queue.outcomes[0][0] == "retry"
    kw = queue.outcomes[0][1]
    assert kw["first_attempt_at"] == NOW
    assert NOW + timedelta(seconds=2.5) <= kw["next_attempt_at"] <= NOW + timedelta(seconds=5)

    old = replace(delivery(1, "a", attempts=30), first_attempt_at=NOW - timedelta(hours=24))
    parked, queue, _ = await one(Attempt(False, None, "ConnectError"), old)
    assert parked == "parked"
    assert queue.outcomes == [("parked", {"status": None, "error": "ConnectError"})]
