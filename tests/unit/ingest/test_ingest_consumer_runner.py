"""orderlens.consumer.BatchConsumer without servers: dead letters, retries, splitting, metrics."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect

from orderlens.consumer import (
    Backoff,
    BatchConsumer,
    BatchConsumerConfig,
    Outcome,
    Received,
    is_transient,
)
from orderlens.events import EventType, decode, encode
from orderlens_devtools.seed import SeedConfig, iter_events

TOPIC = "orders.created.unit"


class FakeBroker:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    async def publish(self, value: bytes, **kwargs: Any) -> None:
        self.published.append({"value": value, **kwargs})


def _record(offset: int, value: bytes, key: bytes | None = b"k") -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic=TOPIC,
        partition=1,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=len(value),
        headers=(),
    )


def _valid(n: int) -> list[bytes]:
    events = [
        e for e in iter_events(SeedConfig(orders=n, seed=5)) if e.type.value.endswith("created.v1")
    ]
    return [encode(e) for e in events[:n]]


def _runner(function: Any, service: str) -> tuple[BatchConsumer, FakeBroker]:
    runner = BatchConsumer(
        BatchConsumerConfig(
            service=service,
            topic=TOPIC,
            group_id="g",
            dead_letter_topic="orders.dead-letter.unit",
            expected_type=EventType.ORDER_CREATED,
            backoff=Backoff(base=0.001, cap=0.002),
        ),
        function,
    )
    broker = FakeBroker()
    runner._broker = broker  # type: ignore[assignment]
    return runner, broker


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_invalid_messages_go_to_the_dead_letter_topic_with_their_origin() -> None:
    seen: list[Received] = []

    async def apply(batch: list[Received]) -> Outcome:
        seen.extend(batch)
        return Outcome(applied=len(batch))

    runner, broker = _runner(apply, "unit-dlq")
    good = _valid(2)
    status = next(
        e for e in iter_events(SeedConfig(orders=5, seed=5)) if e.type == EventType.STATUS_CHANGED
    )
    records = [
        _record(10, good[0]),
        _record(11, b"\xff not json", key=b"poison"),
        _record(12, encode(status)),  # a valid event of the wrong type for this topic
        _record(13, good[1]),
    ]
    await runner.process(records)
    assert [r.offset for r in seen] == [10, 13]
    assert [p["key"] for p in broker.published] == [b"poison", b"k"]
    first = broker.published[0]
    assert first["value"] == b"\xff not json"
    assert first["topic"] == "orders.dead-letter.unit"
    headers = first["headers"]
    assert headers["x-original-topic"] == TOPIC
    assert (headers["x-original-partition"], headers["x-original-offset"]) == ("1", "11")
    assert headers["x-error"].startswith("not a CloudEvent")
    assert "x-failed-at" in headers
    assert "unexpected event type" in broker.published[1]["headers"]["x-error"]
    assert _metric("orderlens_dead_letters_total", service="unit-dlq", topic=TOPIC) == 2
    assert _metric("orderlens_messages_consumed_total", service="unit-dlq", topic=TOPIC) == 4
    assert _metric("orderlens_messages_applied_total", service="unit-dlq", topic=TOPIC) == 2


async def test_a_transient_failure_is_retried_until_it_succeeds() -> None:
    calls = 0

    async def flaky(batch: list[Received]) -> Outcome:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise AutoReconnect("MongoDB is down")
        return Outcome(applied=len(batch))

    runner, broker = _runner(flaky, "unit-retry")
    await runner.process([_record(0, v) for v in _valid(3)])
    assert calls == 4
    assert broker.published == []
    assert (
        _metric(
            "orderlens_consumer_retries_total", service="unit-retry", topic=TOPIC, kind="transient"
        )
        == 3
    )
    assert _metric("orderlens_messages_applied_total", service="unit-retry", topic=TOPIC) == 3


async def test_an_event_that_always_fails_is_dead_lettered_alone() -> None:
    values = _valid(3)
    bad_id = decode(values[1]).id

    async def picky(batch: list[Received]) -> Outcome:
        if any(r.event.id == bad_id for r in batch):
            raise ValueError("cannot fold this one")
        return Outcome(applied=len(batch))

    runner, broker = _runner(picky, "unit-split")
    await runner.process([_record(i, v) for i, v in enumerate(values)])
    assert len(broker.published) == 1
    dead = broker.published[0]
    assert dead["value"] == values[1]
    assert dead["headers"]["x-original-offset"] == "1"
    assert dead["headers"]["x-error"].startswith("processing failed: ValueError")
    assert _metric("orderlens_messages_applied_total", service="unit-split", topic=TOPIC) == 2


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (AutoReconnect("down"), True),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (ValueError("bug"), False),
        (KeyError("bug"), False),
    ],
)
def test_transient_errors_are_told_apart(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient
