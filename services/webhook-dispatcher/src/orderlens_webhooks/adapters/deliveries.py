"""`webhook_deliveries`: one queue (outbox) per subscription, in MongoDB (decision 0170).

A delivery document is one event for one subscription: `_id` = `<subscription id>:<event id>`,
so a redelivered Kafka batch adds nothing; `seq` orders a subscription's deliveries as they were
read (every event of one order id is read in order: docs/contract.md §3.1). States: `pending`
(with `next_attempt_at`), `delivered`, `parked`.

`webhook_order_starts` (decision 0225), per subscription getting both event types and order id
(`_id` `<subscription id>:<order id>`): `created` once the order's creation was queued, else
`wait_until`, until when its status changes wait for it. A status change queued before its
order's creation is marked `before_creation` and not due before `wait_until`; the creation, when
it comes, takes its place (its `seq` goes just before theirs, and they are due at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.events import EventType
from orderlens.indexes import create_missing_indexes
from orderlens.mongo import Document
from orderlens.webhooks import DELIVERIES, ORDER_STARTS, SEQUENCES, DeliveryState

DELIVERY_INDEXES = [
    IndexModel(
        [("subscription_id", ASCENDING), ("state", ASCENDING), ("seq", ASCENDING)],
        name="subscription_state_seq",
    ),
    # An order's deliveries in a queue: parking behind, a creation moving before its waiters.
    IndexModel(
        [("subscription_id", ASCENDING), ("order_id", ASCENDING), ("seq", ASCENDING)],
        name="subscription_order_seq",
    ),
    # Delivered ones are kept for a while (what was sent, when), then dropped by the server.
    IndexModel([("expire_at", ASCENDING)], name="expire_at", expireAfterSeconds=0),
]
START_INDEXES = [IndexModel([("expire_at", ASCENDING)], name="expire_at", expireAfterSeconds=0)]
# An order's start is forgotten this long after it was written: a status change of an order
# older than that waits once more (at most the creation wait), nothing worse.
KEEP_ORDER_STARTS = timedelta(days=90)


@dataclass(frozen=True)
class NewDelivery:
    subscription_id: str
    shop_id: str
    event_id: str
    event_type: str
    order_id: str
    event_time: datetime
    body: bytes
    # The subscription gets both creations and status changes: the order's creation goes
    # before its status changes (decision 0225).
    creation_first: bool = False


@dataclass(frozen=True)
class Delivery:
    id: str
    subscription_id: str
    event_id: str
    order_id: str
    seq: int
    body: bytes
    attempts: int
    event_time: datetime
    next_attempt_at: datetime
    first_attempt_at: datetime | None

    @classmethod
    def from_document(cls, doc: Document) -> Delivery:
        return cls(
            id=str(doc["_id"]),
            subscription_id=str(doc["subscription_id"]),
            event_id=str(doc["event_id"]),
            order_id=str(doc["order_id"]),
            seq=int(doc["seq"]),
            body=str(doc.get("body", "")).encode(),
            attempts=int(doc.get("attempts", 0)),
            event_time=doc["event_time"],
            next_attempt_at=doc["next_attempt_at"],
            first_attempt_at=doc.get("first_attempt_at"),
        )


def delivery_id(subscription_id: str, event_id: str) -> str:
    return f"{subscription_id}:{event_id}"


def start_id(subscription_id: str, order_id: str) -> str:
    return f"{subscription_id}:{order_id}"


class DeliveryStore:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        keep_delivered: timedelta,
        creation_wait: timedelta = timedelta(),
    ) -> None:
        self._deliveries = db[DELIVERIES]
        self._sequences = db[SEQUENCES]
        self._starts = db[ORDER_STARTS]
        self._keep = keep_delivered
        self._creation_wait = creation_wait

    async def ensure_indexes(self) -> None:
        await create_missing_indexes(self._deliveries, DELIVERY_INDEXES)
        await create_missing_indexes(self._starts, START_INDEXES)

    async def _reserve(self, subscription_id: str, count: int) -> int:
        """The first of `count` fresh sequence numbers of the subscription."""
        doc = await self._sequences.find_one_and_update(
            {"_id": subscription_id},
            {"$inc": {"next": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None
        return int(doc["next"]) - count + 1

    async def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        """Write the deliveries not written yet, in the given order; answer how many are new.
        Idempotent: an event already queued for a subscription keeps its document and place.
        (Written in this order so that a crash anywhere is mended by the batch's redelivery:
        deliveries, then creations put before what waited for them, then the order starts.)"""
        by_subscription: dict[str, list[NewDelivery]] = {}
        for d in deliveries:
            by_subscription.setdefault(d.subscription_id, []).append(d)
        starts = await self._starts_of([d for d in deliveries if d.creation_first])
        start_writes: list[UpdateOne] = []
        first_creations: list[NewDelivery] = []
        operations: list[UpdateOne] = []
        for subscription_id, queued in by_subscription.items():
            first = await self._reserve(subscription_id, len(queued))
            for offset, d in enumerate(queued):
                document: dict[str, Any] = {
                    "subscription_id": d.subscription_id,
                    "shop_id": d.shop_id,
                    "event_id": d.event_id,
                    "event_type": d.event_type,
                    "order_id": d.order_id,
                    "event_time": d.event_time,
                    "body": d.body.decode(),
                    "seq": first + offset,
                    "state": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "first_attempt_at": None,
                    "created_at": now,
                }
                if d.creation_first:
                    start = starts.get(start_id(d.subscription_id, d.order_id))
                    # Status changes waited for it (none can without a start: it is written
                    # before a later batch of the partition is read).
                    if d.event_type == EventType.ORDER_CREATED and start and not start["created"]:
                        first_creations.append(d)
                    write = self._order_start(d, starts, document, now)
                    if write is not None:
                        start_writes.append(write)
                operations.append(
                    UpdateOne(
                        {"_id": delivery_id(d.subscription_id, d.event_id)},
                        {"$setOnInsert": document},
                        upsert=True,
                    )
                )
        if not operations:
            return 0
        result = await self._deliveries.bulk_write(operations, ordered=True)
        for creation in first_creations:
            await self._put_creation_first(creation, now)
        if start_writes:
            await self._starts.bulk_write(start_writes, ordered=True)
        for subscription_id, queued in by_subscription.items():
            await self._park_behind_parked(subscription_id, {d.order_id for d in queued})
        return int(result.upserted_count)

    def _order_start(
        self, d: NewDelivery, starts: dict[str, Document], document: Document, now: datetime
    ) -> UpdateOne | None:
        """The order's creation: its start becomes `created` (answered: the write of it, if
        it was not). A status change before it: the delivery waits until the start's
        `wait_until`, a new start waits `creation_wait` from now (answered: its write)."""
        key = start_id(d.subscription_id, d.order_id)
        start = starts.get(key)
        expire_at = now + KEEP_ORDER_STARTS
        if d.event_type == EventType.ORDER_CREATED:
            if start is not None and start.get("created"):
                return None
            starts[key] = {"created": True}
            return UpdateOne(
                {"_id": key}, {"$set": {"created": True, "expire_at": expire_at}}, upsert=True
            )
        write = None
        if start is None:
            start = starts[key] = {"created": False, "wait_until": now + self._creation_wait}
            write = UpdateOne(
                {"_id": key}, {"$setOnInsert": {**start, "expire_at": expire_at}}, upsert=True
            )
        if not start.get("created"):
            document["before_creation"] = True
            document["next_attempt_at"] = max(now, start["wait_until"])
        return write

    async def _starts_of(self, deliveries: Sequence[NewDelivery]) -> dict[str, Document]:
        keys = sorted({start_id(d.subscription_id, d.order_id) for d in deliveries})
        if not keys:
            return {}
        cursor = self._starts.find({"_id": {"$in": keys}})
        return {str(doc["_id"]): doc async for doc in cursor}

    async def _put_creation_first(self, creation: NewDelivery, now: datetime) -> None:
        """The creation moves before the order's deliveries that waited for it (one write: the
        status changes keep their `seq`s, so their order holds whatever happens); then those
        are due at once. (A retry in flight finishes first: one attempt per order id.)"""
        waiting = {
            "subscription_id": creation.subscription_id,
            "state": {"$in": [DeliveryState.PENDING.value, DeliveryState.PARKED.value]},
            "order_id": creation.order_id,
            "before_creation": True,
        }
        first = await self._deliveries.find_one(waiting, {"seq": 1}, sort=[("seq", ASCENDING)])
        if first is None:
            return
        # Its `seq` may equal another order's: only the order within an order id matters.
        await self._deliveries.update_one(
            {
                "_id": delivery_id(creation.subscription_id, creation.event_id),
                "seq": {"$gt": int(first["seq"])},
            },
            {"$set": {"seq": int(first["seq"]) - 1}},
        )
        await self._deliveries.update_many(
            waiting, {"$unset": {"before_creation": ""}, "$min": {"next_attempt_at": now}}
        )

    async def _park_behind_parked(self, subscription_id: str, order_ids: set[str]) -> None:
        """A new event of an order whose earlier delivery is parked waits parked behind it, so
        that a replay still sends the order's events in order. (Written after the insert, read
        after it: `park` writes first and reads after, so one of the two sees the other.)"""
        first_parked: dict[str, int] = {}
        cursor = self._deliveries.find(
            {
                "subscription_id": subscription_id,
                "state": DeliveryState.PARKED.value,
                "order_id": {"$in": sorted(order_ids)},
            },
            {"order_id": 1, "seq": 1},
        )
        async for doc in cursor:
            order_id, seq = str(doc["order_id"]), int(doc["seq"])
            first_parked[order_id] = min(seq, first_parked.get(order_id, seq))
        for order_id, seq in first_parked.items():
            await self._deliveries.update_many(
                {
                    "subscription_id": subscription_id,
                    "state": DeliveryState.PENDING.value,
                    "order_id": order_id,
                    "seq": {"$gt": seq},
                },
                {
                    "$set": {
                        "state": DeliveryState.PARKED.value,
                        "parked_at": datetime.now(UTC),
                        "last_error": "behind a parked delivery of the same order",
                    }
                },
            )

    async def pending(self, subscription_id: str, limit: int, now: datetime) -> list[Delivery]:
        """The first `limit` pending deliveries by `seq` that may be looked at, without their
        bodies (`with_bodies` reads those of the ones about to be attempted). Deliveries still
        waiting for their order's creation are not scanned, so however many there are they
        hide no other order's work; a scanned delivery of an order with such a wait before it
        is left out (it waits too)."""
        queue = {"subscription_id": subscription_id, "state": DeliveryState.PENDING.value}
        cursor = (
            self._deliveries.find(
                {
                    **queue,
                    "$or": [
                        {"before_creation": {"$ne": True}},
                        {"attempts": {"$gt": 0}},
                        {"next_attempt_at": {"$lte": now}},
                    ],
                },
                {"body": 0},
            )
            .sort("seq", ASCENDING)
            .limit(limit)
        )
        scanned = [Delivery.from_document(doc) async for doc in cursor]
        if not scanned:
            return []
        first_waiting: dict[str, int] = {}
        waiting = self._deliveries.find(
            {
                **queue,
                "before_creation": True,
                "attempts": 0,
                "next_attempt_at": {"$gt": now},
                "order_id": {"$in": sorted({d.order_id for d in scanned})},
            },
            {"order_id": 1, "seq": 1},
        )
        async for doc in waiting:
            order_id, seq = str(doc["order_id"]), int(doc["seq"])
            first_waiting[order_id] = min(seq, first_waiting.get(order_id, seq))
        return [d for d in scanned if d.seq < first_waiting.get(d.order_id, d.seq + 1)]

    async def with_bodies(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        cursor = self._deliveries.find({"_id": {"$in": [d.id for d in deliveries]}}, {"body": 1})
        bodies = {str(doc["_id"]): str(doc["body"]).encode() async for doc in cursor}
        return [replace(d, body=bodies[d.id]) for d in deliveries if d.id in bodies]

    def _current(self, d: Delivery) -> dict[str, Any]:
        # Only the attempt this replica read: a replay or another holder moved it on otherwise.
        return {"_id": d.id, "state": DeliveryState.PENDING.value, "attempts": d.attempts}

    async def delivered(self, d: Delivery, now: datetime, status: int | None) -> None:
        await self._deliveries.update_one(
            self._current(d),
            {
                "$set": {
                    "state": DeliveryState.DELIVERED.value,
                    "delivered_at": now,
                    "last_status": status,
                    "last_error": None,
                    "attempts": d.attempts + 1,
                    "expire_at": now + self._keep,
                }
            },
        )

    async def retry(
        self,
        d: Delivery,
        now: datetime,
        *,
        first_attempt_at: datetime,
        next_attempt_at: datetime,
        status: int | None,
        error: str | None,
    ) -> None:
        await self._deliveries.update_one(
            self._current(d),
            {
                "$set": {
                    "attempts": d.attempts + 1,
                    "first_attempt_at": first_attempt_at,
                    "next_attempt_at": next_attempt_at,
                    "last_status": status,
                    "last_error": error,
                    "last_attempt_at": now,
                }
            },
        )

    async def park(
        self, d: Delivery, now: datetime, *, status: int | None, error: str | None
    ) -> int:
        """Park `d` and every later pending delivery of its order id (so that a replay still
        sends the order's events in order); answer how many were parked."""
        first = await self._deliveries.update_one(
            self._current(d),
            {
                "$set": {
                    "state": DeliveryState.PARKED.value,
                    "attempts": d.attempts + 1,
                    "parked_at": now,
                    "last_status": status,
                    "last_error": error,
                }
            },
        )
        if not first.modified_count:
            return 0
        behind = await self._deliveries.update_many(
            {
                "subscription_id": d.subscription_id,
                "state": DeliveryState.PENDING.value,
                "order_id": d.order_id,
                "seq": {"$gt": d.seq},
            },
            {
                "$set": {
                    "state": DeliveryState.PARKED.value,
                    "parked_at": now,
                    "last_error": f"behind parked delivery {d.event_id}",
                }
            },
        )
        return 1 + int(behind.modified_count)

    async def parked(self, subscription_id: str, limit: int = 100) -> list[Document]:
        cursor = (
            self._deliveries.find(
                {"subscription_id": subscription_id, "state": DeliveryState.PARKED.value},
                {"body": 0},
            )
            .sort("seq", ASCENDING)
            .limit(limit)
        )
        return [doc async for doc in cursor]
