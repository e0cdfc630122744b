"""At-least-once batch consumption for FastStream Kafka subscribers (docs/contract.md §2, §3.6).

One `BatchConsumer` drives one subscriber (one consumer group; one topic, or several
co-partitioned topics, see below). Per batch it:

1. decodes every record with `orderlens.events.decode`; a record that can never be processed goes
   to the dead-letter topic with the docs/contract.md §3.6 headers (original bytes and key);
2. calls the service's plain async function with the valid events, in batch order;
3. on a transient failure (MongoDB or Kafka unreachable) retries the batch with exponential
   backoff and full jitter, forever, committing nothing (a log line, and
   `orderlens_consumer_retries_total`);
4. commits the batch's offsets only once the function returned, i.e. once its writes are durable;
5. updates the shared metrics of `orderlens.metrics` (consumed, applied, ignored with reason,
   dead letters, batch duration, last processed time, lag per partition).

Usage (one instance per topic)::

    async def apply(events: list[Received]) -> Outcome:
        ...  # idempotent, durable writes; raise on failure
        return Outcome(applied=len(events))

    broker = make_broker(settings.kafka_bootstrap_servers, client_id="orderlens-exporter")
    runner = BatchConsumer(
        BatchConsumerConfig(
            service="exporter",
            topic=settings.topic_export_requested,
            group_id="orderlens-exporter",
            dead_letter_topic=settings.topic_dead_letter,
            expected_type=EventType.EXPORT_REQUESTED,
        ),
        apply,
    )
    runner.attach(broker)          # registers the subscriber: batch=True, AckPolicy.MANUAL
    await broker.start()
    ...
    await runner.drain()           # on SIGTERM: finish the batch in flight, commit, accept no more
    await broker.stop()

The function receives a non-empty `list[Received]`; it must be idempotent (a batch may be
delivered again after a crash or a rebalance). It may return an `Outcome` (counts for the
applied/ignored metrics) or None (every event counted as applied). An exception it raises is
classified by `is_transient`: transient ones are retried forever; any other is retried a few
times (a server or driver hiccup may look permanent), then the batch is split and each event
retried alone, and an event that still fails is dead-lettered with the exception as `x-error`,
so one bad message cannot stall its partition.

Several topics in one subscriber (`extra_topics`, with `expected_types` per topic): the consumer
uses Kafka's range assignor, so partition i of every topic goes to the same consumer; with equal
partition counts and keys, all events of one key are handled by one consumer, one batch after
the other. order-ingest relies on that: one writer per order, whose versioned writes only
arbitrate a consumer left over from a rebalance (docs/decisions/0034). The function then gets
records of every topic in one batch; it may return per-topic counts in `Outcome.per_topic`
(otherwise counts go to `topic`).

FastStream's own parser is replaced: it decodes headers as UTF-8 and bodies as JSON, and an
error there would skip the batch without dead-lettering it. Offsets are committed explicitly per
partition (the last record's offset + 1), only for partitions still assigned.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NodeNotReadyError,
)
from faststream import AckPolicy, Context
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaAckableMessage
from prometheus_client import Counter as PromCounter
from pydantic import BaseModel
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from orderlens import metrics
from orderlens.events import CloudEvent, EventType, InvalidEvent, decode
from orderlens.kafka import publish_dead_letter
from orderlens.settings import ServiceSettings

log = logging.getLogger("orderlens.consumer")

CONSUMER_RETRIES = PromCounter(
    "orderlens_consumer_retries_total",
    "Batch attempts that failed and will be retried (nothing committed).",
    ["service", "topic", "kind"],
)

# MongoDB server codes meaning "try again later" (shutdown, elections, interrupted operations).
_TRANSIENT_MONGO_CODES = frozenset(
    {6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}
)


D = TypeVar("D", bound=BaseModel)


@dataclass(frozen=True)
class Received:
    """One valid event and where it came from (`events_of` gives the typed events)."""

    event: CloudEvent[Any]
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass
class Outcome:
    """What a batch did, for the metrics: `ignored` counts events by reason. Counts of a
    multi-topic batch may be split by topic in `per_topic`."""

    applied: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    per_topic: dict[str, Outcome] = field(default_factory=dict)

    def ignore(self, reason: str, count: int = 1) -> None:
        self.ignored[reason] += count

    def merge(self, other: Outcome) -> None:
        self.applied += other.applied
        self.ignored.update(other.ignored)
        for topic, outcome in other.per_topic.items():
            self.per_topic.setdefault(topic, Outcome()).merge(outcome)


BatchFunction = Callable[[list[Received]], Awaitable[Outcome | None]]


def events_of(batch: Sequence[Received], model: type[D]) -> list[CloudEvent[D]]:
    """The batch's events whose data is a `model`, in batch order: the one typed dispatch of
    the services' subscribers (a handler then works on `CloudEvent[ExportRequested]`, never on
    `Any`). The subscriber's expected types decide what a batch can hold, so for a one-type
    subscriber this is every event."""
    typed: list[CloudEvent[D]] = []
    for received in batch:
        if isinstance(received.event.data, model):
            typed.append(received.event)
    return typed


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n sleeps U(0, min(cap, base * 2**n))."""

    base: float = 0.2
    cap: float = 5.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2 ** min(attempt, 30)))


@dataclass(frozen=True)
class BatchConsumerConfig:
    service: str
    topic: str
    group_id: str
    dead_letter_topic: str
    expected_type: EventType | None = None
    # More topics for the same subscriber, co-partitioned with `topic` (see the module docstring).
    extra_topics: tuple[str, ...] = ()
    expected_types: Mapping[str, EventType] = field(default_factory=dict)
    max_records: int = 500
    batch_timeout_ms: int = 200
    # Above the worst batch time; a longer outage (retrying) costs a rebalance, not a loss.
    max_poll_interval_ms: int = 600_000
    session_timeout_ms: int = 30_000
    heartbeat_interval_ms: int = 3_000
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    # Attempts at a batch failing with a non-transient error before it is split.
    permanent_attempts: int = 3
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def order_events(
        cls, settings: ServiceSettings, *, service: str, group_id: str, **options: Any
    ) -> BatchConsumerConfig:
        """One subscriber for `orders.created` and `orders.status-changed`, co-partitioned, so
        that all events of an order reach one consumer in order."""
        return cls(
            service=service,
            topic=settings.topic_orders_created,
            extra_topics=(settings.topic_status_changed,),
            expected_types={
                settings.topic_orders_created: EventType.ORDER_CREATED,
                settings.topic_status_changed: EventType.STATUS_CHANGED,
            },
            group_id=group_id,
            dead_letter_topic=settings.topic_dead_letter,
            **options,
        )


def is_transient(exc: BaseException) -> bool:
    """True for failures that go away by themselves: a server down, a timeout, an election."""
    if isinstance(
        exc,
        ConnectionFailure
        | AutoReconnect
        | NetworkTimeout
        | ServerSelectionTimeoutError
        | ExecutionTimeout
        | WTimeoutError,
    ):
        return True
    if isinstance(exc, OperationFailure):
        return exc.code in _TRANSIENT_MONGO_CODES
    if isinstance(exc, PyMongoError):
        return exc.has_error_label("RetryableWriteError") or exc.timeout
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(
            exc, KafkaConnectionError | KafkaTimeoutError | NodeNotReadyError
        )
    return isinstance(exc, ConnectionError | TimeoutError | OSError)


class _Stopping(Exception):
    """The consumer is draining and the batch could not finish: commit nothing."""


class BatchConsumer:
    """Drives one FastStream batch subscriber; see the module docstring."""

    def __init__(
        self,
        config: BatchConsumerConfig,
        function: BatchFunction,
        between_batches: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._function = function
        #: Called after each batch, committed or not (`orderlens.memory.BatchCollector`).
        self._between_batches = between_batches
        self._broker: KafkaBroker | None = None
        self._subscriber: Any = None
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.batches = 0  # committed batches, for tests and logs

    # -- wiring ---------------------------------------------------------------------------------

    def attach(self, broker: KafkaBroker) -> None:
        """Register the subscriber on `broker` (before `broker.start()`)."""
        c = self.config
        self._broker = broker
        subscriber = broker.subscriber(
            c.topic,
            *c.extra_topics,
            batch=True,
            partition_assignment_strategy=(RangePartitionAssignor,)
            if c.extra_topics
            else (RoundRobinPartitionAssignor,),
            group_id=c.group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset=c.auto_offset_reset,
            max_records=c.max_records,
            batch_timeout_ms=c.batch_timeout_ms,
            max_poll_interval_ms=c.max_poll_interval_ms,
            session_timeout_ms=c.session_timeout_ms,
            heartbeat_interval_ms=c.heartbeat_interval_ms,
            parser=self._parse,
            decoder=self._decode,
        )
        subscriber(self._on_message)
        self._subscriber = subscriber

    @property
    def kafka_consumer(self) -> AIOKafkaConsumer | None:
        consumer = getattr(self._subscriber, "consumer", None)
        return consumer if isinstance(consumer, AIOKafkaConsumer) else None

    async def drain(self, grace: float = 30.0) -> None:
        """Accept no new batch; wait (up to `grace` seconds) for the one in flight to commit."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            log.warning("batch still in flight after %.0fs; leaving it uncommitted", grace)

    async def _parse(self, records: tuple[ConsumerRecord[Any, Any], ...]) -> KafkaAckableMessage:
        # Never fails: the records are inspected one by one in `_process`.
        return KafkaAckableMessage(
            body=b"",
            headers={},
            raw_message=records,
            consumer=self.kafka_consumer,
            message_id=f"{records[0].topic}-{records[0].partition}-{records[0].offset}"
            if records
            else "",
        )

    async def _decode(self, message: KafkaAckableMessage) -> None:
        return None

    async def _on_message(self, message: KafkaAckableMessage = Context("message")) -> None:  # noqa: B008
        records = message.raw_message
        if not isinstance(records, tuple) or not records:
            return
        if self._stopping:
            return  # not committed: the next owner of these partitions gets them again
        self._idle.clear()
        try:
            await self.process(list(records))
        except _Stopping:
            log.warning("stopping with an unfinished batch; nothing committed")
        except Exception:
            # Not expected (`process` retries what it can); never let the next batch's commit
            # skip this one: fetch it again.
            log.exception("batch failed unexpectedly; it will be fetched again")
            self._rewind(records)
        finally:
            self._idle.set()
            if self._between_batches is not None:
                self._between_batches()

    def _rewind(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        consumer = self.kafka_consumer
        if consumer is None:
            return
        first: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        assigned = consumer.assignment()
        for tp, offset in first.items():
            if tp in assigned:
                consumer.seek(tp, offset)

    # -- processing -----------------------------------------------------------------------------

    async def process(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Handle one batch end to end: dead letters, the function, the commit, the metrics."""
        c = self.config
        started = time.monotonic()
        for topic, count in Counter(r.topic for r in records).items():
            metrics.MESSAGES_CONSUMED.labels(c.service, topic).inc(count)
        valid: list[Received] = []
        invalid: list[tuple[ConsumerRecord[Any, Any], str]] = []
        for record in records:
            try:
                event = decode(record.value or b"", self._expected(record.topic))
            except InvalidEvent as exc:
                invalid.append((record, str(exc)))
            else:
                valid.append(
                    Received(
                        event,
                        record.topic,
                        record.partition,
                        record.offset,
                        record.key,
                        record.value or b"",
                    )
                )
        for record, reason in invalid:
            await self._retry("dead-letter", partial(self._dead_letter, record, reason))
        outcome = await self._apply(valid) if valid else Outcome()
        await self._retry("commit", lambda: self._commit(records))
        self._record(records, outcome, started)

    def _expected(self, topic: str) -> EventType | None:
        return self.config.expected_types.get(topic, self.config.expected_type)

    async def _apply(self, events: list[Received]) -> Outcome:
        c = self.config
        failures = 0
        attempt = 0
        while True:
            try:
                result = await self._function(events)
            except Exception as exc:
                kind = "transient" if is_transient(exc) else "permanent"
                if kind == "permanent":
                    failures += 1
                    if failures >= c.permanent_attempts:
                        if len(events) > 1:
                            return await self._split(events)
                        await self._dead_letter_event(events[0], exc)
                        return Outcome()
                self._note_retry(kind, attempt, exc)
                await self._sleep(attempt)
                attempt += 1
            else:
                return result if result is not None else Outcome(applied=len(events))

    async def _split(self, events: list[Received]) -> Outcome:
        log.warning(
            "batch keeps failing; retrying its %d events one by one",
            len(events),
            extra={"topic": self.config.topic},
        )
        total = Outcome()
        for received in events:
            total.merge(await self._apply([received]))
        return total

    async def _dead_letter_event(self, received: Received, exc: Exception) -> None:
        reason = f"processing failed: {type(exc).__name__}: {exc}"
        log.error(
            "dead-lettering an event that cannot be processed",
            extra={"event_id": received.event.id, "topic": received.topic, "error": reason},
        )
        ref = _RecordRef(received.topic, received.partition, received.offset, received.key)
        await self._retry(
            "dead-letter", lambda: self._publish_dead_letter(ref, reason, value=received.value)
        )

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        ref = _RecordRef(record.topic, record.partition, record.offset, record.key)
        await self._publish_dead_letter(ref, reason, value=record.value or b"")

    async def _publish_dead_letter(self, ref: _RecordRef, reason: str, *, value: bytes) -> None:
        assert self._broker is not None, "attach() the consumer to a broker first"
        await publish_dead_letter(
            self._broker,
            self.config.dead_letter_topic,
            value=value,
            key=ref.key,
            reason=reason,
            topic=ref.topic,
            partition=ref.partition,
            offset=ref.offset,
        )
        metrics.DEAD_LETTERS.labels(self.config.service, ref.topic).inc()
        log.warning(
            "dead letter",
            extra={
                "topic": ref.topic,
                "partition": ref.partition,
                "offset": ref.offset,
                "error": reason,
            },
        )

    async def _commit(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        consumer = self.kafka_consumer
        if consumer is None:
            return
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
        assigned = consumer.assignment()
        owned = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if len(owned) < len(offsets):
            log.warning(
                "partitions revoked during the batch; their new owner reprocesses them",
                extra={"revoked": sorted(str(tp) for tp in offsets.keys() - owned.keys())},
            )
        if not owned:
            return
        try:
            await consumer.commit(owned)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced: the records come again to whoever owns them now.
            log.warning("commit rejected after a rebalance: %s", exc)

    def _record(
        self, records: Sequence[ConsumerRecord[Any, Any]], outcome: Outcome, started: float
    ) -> None:
        c = self.config
        for topic, counts in [(c.topic, outcome), *outcome.per_topic.items()]:
            if counts.applied:
                metrics.MESSAGES_APPLIED.labels(c.service, topic).inc(counts.applied)
            for reason, count in counts.ignored.items():
                metrics.MESSAGES_IGNORED.labels(c.service, topic, reason).inc(count)
        elapsed = time.monotonic() - started
        now = time.time()
        for topic in {record.topic for record in records}:
            metrics.BATCH_DURATION.labels(c.service, topic).observe(elapsed)
            metrics.LAST_PROCESSED.labels(c.service, topic).set(now)
        self.batches += 1
        consumer = self.kafka_consumer
        if consumer is None:
            return
        last: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            last[tp] = max(last.get(tp, -1), record.offset)
        assigned = consumer.assignment()
        for tp, offset in last.items():
            if tp not in assigned:
                continue
            highwater = consumer.highwater(tp)
            if highwater is not None:
                metrics.CONSUMER_LAG.labels(c.service, tp.topic, str(tp.partition)).set(
                    max(highwater - (offset + 1), 0)
                )

    # -- retrying -------------------------------------------------------------------------------

    async def _retry(self, what: str, action: Callable[[], Awaitable[None]]) -> None:
        """Retry forever: a dead letter or a commit that cannot be written must hold the
        partition back, never be skipped."""
        attempt = 0
        while True:
            try:
                await action()
            except Exception as exc:
                if not is_transient(exc) and attempt == self.config.permanent_attempts:
                    log.error("%s keeps failing: %s: %s", what, type(exc).__name__, exc)
                self._note_retry(what, attempt, exc)
                await self._sleep(attempt)
                attempt += 1
            else:
                return

    def _note_retry(self, kind: str, attempt: int, exc: BaseException) -> None:
        CONSUMER_RETRIES.labels(self.config.service, self.config.topic, kind).inc()
        log.warning(
            "batch attempt failed, retrying (nothing committed): %s: %s",
            type(exc).__name__,
            exc,
            extra={"topic": self.config.topic, "attempt": attempt + 1, "kind": kind},
        )

    async def _sleep(self, attempt: int) -> None:
        if self._stopping:
            raise _Stopping
        await asyncio.sleep(self.config.backoff.delay(attempt))
        if self._stopping:
            raise _Stopping


@dataclass(frozen=True)
class _RecordRef:
    topic: str
    partition: int
    offset: int
    key: bytes | None
