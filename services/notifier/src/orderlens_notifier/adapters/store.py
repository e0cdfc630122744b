"""MongoDB adapters: `webhook_subscriptions` (written by query-api's admin API, read here) and
`webhook_deliveries` (written by the notifier alone): one document per (subscription, event)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.mongo import Document
from orderlens_notifier.service import Delivery, DeliveryState, Subscription

SUBSCRIPTIONS = "webhook_subscriptions"
DELIVERIES = "webhook_deliveries"


def _subscription(doc: Document) -> Subscription:
    return Subscription(
        id=doc["_id"],
        shop_id=doc["shop_id"],
        url=doc["url"],
        event_types=tuple(doc.get("event_types") or ()),
        secret=doc["secret"],
        replay_requested_at=doc.get("replay_requested_at"),
    )


def _delivery(doc: Document) -> Delivery:
    return Delivery(
        id=doc["_id"],
        subscription_id=doc["subscription_id"],
        event_id=doc["event_id"],
        subject=doc["subject"],
        body=doc["body"],
        seq=doc["seq"],
        state=DeliveryState(doc["state"]),
        attempts=doc["attempts"],
        created_at=doc["created_at"],
        next_attempt_at=doc["next_attempt_at"],
        last_error=doc.get("last_error"),
    )


class MongoStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._subscriptions = db[SUBSCRIPTIONS]
        self._deliveries = db[DELIVERIES]

    async def ensure_indexes(self) -> None:
        await self._deliveries.create_index(
            [("subscription_id", ASCENDING), ("state", ASCENDING), ("seq", ASCENDING)]
        )

    async def subscriptions(self) -> list[Subscription]:
        return [_subscription(doc) async for doc in self._subscriptions.find({})]

    async def enqueue(self, delivery: Delivery) -> bool:
        """False when this (subscription, event) is already queued: redelivered events fan
        out once."""
        try:
            await self._deliveries.insert_one(_document(delivery))
        except DuplicateKeyError:
            return False
        return True

    async def next_pending(self, subscription_id: str) -> Delivery | None:
        doc = await self._deliveries.find_one(
            {"subscription_id": subscription_id, "state": DeliveryState.PENDING.value},
            sort=[("seq", ASCENDING)],
        )
        return None if doc is None else _delivery(doc)

    async def save(self, delivery: Delivery) -> None:
        await self._deliveries.replace_one({"_id": delivery.id}, _document(delivery))

    async def requeue_parked(self, subscription_id: str, now: datetime) -> int:
        result = await self._deliveries.update_many(
            {"subscription_id": subscription_id, "state": DeliveryState.PARKED.value},
            {
                "$set": {
                    "state": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
            },
        )
        return int(result.modified_count)

    async def mark_replayed(self, subscription_id: str, requested_at: datetime) -> bool:
        """Remember the replay request handled, once (the marker lives on the delivery side)."""
        doc = await self._deliveries.database["webhook_replays"].find_one_and_update(
            {"_id": subscription_id},
            {"$max": {"handled": requested_at}},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        before: Any = (doc or {}).get("handled")
        return before is None or _aware(before) < _aware(requested_at)

    async def deliveries(self, subscription_id: str, state: DeliveryState) -> list[Delivery]:
        cursor = self._deliveries.find(
            {"subscription_id": subscription_id, "state": state.value}, sort=[("seq", ASCENDING)]
        )
        return [_delivery(doc) async for doc in cursor]


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _document(d: Delivery) -> Document:
    return {
        "_id": d.id,
        "subscription_id": d.subscription_id,
        "event_id": d.event_id,
        "subject": d.subject,
        "body": d.body,
        "seq": d.seq,
        "state": d.state.value,
        "attempts": d.attempts,
        "created_at": d.created_at,
        "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error,
    }
