"""`webhook_deliveries`: one queue (outbox) per subscription, in MongoDB (decision 0170).

A delivery document is one event for one subscription: `_id` = `<subscription id>:<event id>`,
so a redelivered Kafka batch adds nothing; `seq` orders a subscription's deliveries as they were
read (every event of one order id is read in order: docs/contract.md §3.1). States: `pending`
(with `next_attempt_at`), `delivered`, `parked`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.indexes import create_missing_indexes
from orderlens.mongo import Document
from orderlens.webhooks import DELIVERIES, SEQUENCES, DeliveryState

DELIVERY_INDEXES = [
    IndexModel(
        [("subscription_id", ASCENDING), ("state", ASCENDING), ("seq", ASCENDING)],
        name="subscription_state_seq",
    ),
    # Delivered ones are kept for a while (what was sent, when), then dropped by the server.
    IndexModel([("expire_at", ASCENDING)], name="expire_at", expireAfterSeconds=0),
]


@dataclass(frozen=True)
class NewDelivery:
    subscription_id: str
    shop_id: str
    event_id: str
    event_type: str
    order_id: str
    event_time: datetime
    body: bytes


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


class DeliveryStore:
    def __init__(self, db: AsyncDatabase[Document], *, keep_delivered: timedelta) -> None:
        self._deliveries = db[DELIVERIES]
        self._sequences = db[SEQUENCES]
        self._keep = keep_delivered

    async def ensure_indexes(self) -> None:
        await create_missing_indexes(self._deliveries, DELIVERY_INDEXES)

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
        Idempotent: an event already queued for a subscription keeps its document and place."""
        by_subscription: dict[str, list[NewDelivery]] = {}
        for d in deliveries:
            by_subscription.setdefault(d.subscription_id, []).append(d)
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
        for subscription_id, queued in by_subscription.items():
            await self._park_behind_parked(subscription_id, {d.order_id for d in queued})
        return int(result.upserted_count)

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

    async def pending(self, subscription_id: str, limit: int) -> list[Delivery]:
        """The first `limit` pending deliveries by `seq`, without their bodies (`with_bodies`
        reads those of the ones about to be attempted)."""
        cursor = (
            self._deliveries.find(
                {"subscription_id": subscription_id, "state": DeliveryState.PENDING.value},
                {"body": 0},
            )
            .sort("seq", ASCENDING)
            .limit(limit)
        )
        return [Delivery.from_document(doc) async for doc in cursor]

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
