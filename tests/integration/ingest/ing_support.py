"""Helpers of the order-ingest integration tests: publishing seed events, reading back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo.asynchronous.database import AsyncDatabase

from orderlens import sales_store
from orderlens.domain.order import Order
from orderlens.domain.sales import COLLECTION as SALES
from orderlens.events import CloudEvent, EventType, encode
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.seed import SeedConfig, SeedOrder, created_event, iter_orders, status_events
from orderlens_ingest.app import IngestApp
from orderlens_ingest.domain.orders import StatusEvent, from_snapshot, with_status_events
from orderlens_ingest.domain.risk import RiskRules

END = datetime(2026, 11, 20, tzinfo=UTC)
StartIngest = Callable[..., Awaitable[IngestApp]]
Doc = dict[str, Any]


def seed(orders: int, seed: int = 21) -> list[SeedOrder]:
    return list(iter_orders(SeedConfig(orders=orders, shops=3, days=10, seed=seed, end=END)))


def events_of(orders: Iterable[SeedOrder]) -> list[CloudEvent[Any]]:
    """Every order's first snapshot, then every status change (as the seed generator sends)."""
    chosen = list(orders)
    created: list[CloudEvent[Any]] = [created_event(o) for o in chosen]
    changes: list[CloudEvent[Any]] = [e for o in chosen for e in status_events(o)]
    return created + changes


def expected(seed_order: SeedOrder) -> Order:
    """The document one in-order delivery gives, computed without any server."""
    data = created_event(seed_order).data
    order = from_snapshot(data.shop_id, data.order, None, RiskRules(), END)
    for event in status_events(seed_order):
        order = with_status_events(order, [StatusEvent(event.id, event.data)])
    return order


class Publisher:
    """Sends events to the contract topics the way upstream producers do (key = subject)."""

    def __init__(self, bootstrap_servers: str, topics: TopicNames) -> None:
        self.topics = topics
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    def topic_of(self, event: CloudEvent[Any]) -> str:
        return (
            self.topics.created
            if event.type == EventType.ORDER_CREATED
            else self.topics.status_changed
        )

    async def events(self, events: Iterable[CloudEvent[Any]]) -> None:
        sends = [
            await self.producer.send(self.topic_of(e), encode(e), key=e.subject.encode())
            for e in events
        ]
        await asyncio.gather(*sends)

    async def raw(self, topic: str, value: bytes, key: bytes | None) -> None:
        await self.producer.send_and_wait(topic, value, key=key)


async def history_count(db: AsyncDatabase[Doc]) -> int:
    total = 0
    async for doc in db.orders.find({}, {"history.event_id": 1}):
        total += len(doc.get("history", []))
    return total


def complete(db: AsyncDatabase[Doc], orders: list[SeedOrder]) -> Callable[[], Awaitable[bool]]:
    """True once every order is stored with its whole history and nothing is parked."""
    want_orders = len(orders)
    want_history = sum(len(o.steps) for o in orders)

    async def check() -> bool:
        return (
            await db.orders.count_documents({}) == want_orders
            and await history_count(db) == want_history
            and await db.parked_status_events.count_documents({}) == 0
        )

    return check


async def stored_orders(db: AsyncDatabase[Doc]) -> dict[str, Order]:
    return {str(d["_id"]): Order.from_document(d) async for d in db.orders.find({})}


async def bucket_figures(db: AsyncDatabase[Doc]) -> dict[str, dict[str, int]]:
    figures: dict[str, dict[str, int]] = {}
    async for doc in db[SALES].find({}):
        values = sales_store.figures_of(doc)
        if values["orders"]:
            figures[str(doc["_id"])] = values
    return figures


async def buckets_exact(db: AsyncDatabase[Doc]) -> None:
    """The stored sales buckets equal a recomputation from the orders themselves."""
    stored = await bucket_figures(db)
    await db[SALES].delete_many({})
    await sales_store.rebuild_all(db)
    rebuilt = await bucket_figures(db)
    assert stored == rebuilt
    assert sum(f["orders"] for f in stored.values()) == await db.orders.count_documents(
        {"paid_at": {"$ne": None}}
    )


async def read_topic(bootstrap_servers: str, topic: str, want: int, within: float) -> list[Any]:
    """The first `want` records of a topic (from the beginning)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + within
    try:
        while len(records) < want and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for part in batches.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def committed_everything(bootstrap_servers: str, group_id: str, topic: str) -> bool:
    """True when the group's committed offset is the end of every partition of `topic`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for p in description["partitions"])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            committed = await consumer.committed(tp)
            if ends[tp] and committed != ends[tp]:
                return False
        return bool(tps)
    finally:
        await consumer.stop()
