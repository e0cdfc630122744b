"""Webhook subscriptions and their deliveries in MongoDB (adapter; decision 0171).

query-api is the one writer of `webhook_subscriptions`; `webhook_deliveries` is the
dispatcher's, read here, and changed only by a replay (parked → pending, `replay_parked`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.indexes import create_missing_indexes
from orderlens.mongo import Document
from orderlens.webhooks import DELIVERIES, SUBSCRIPTIONS, Subscription, replay_parked

SUBSCRIPTION_INDEXES = [IndexModel([("shop_id", ASCENDING)], name="shop")]


class WebhookStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db
        self._subscriptions = db[SUBSCRIPTIONS]
        self._deliveries = db[DELIVERIES]

    async def ensure_indexes(self) -> None:
        await create_missing_indexes(self._subscriptions, SUBSCRIPTION_INDEXES)

    async def insert(self, subscription: Subscription) -> None:
        await self._subscriptions.insert_one(subscription.document())

    async def get(self, subscription_id: str, shops: Sequence[str]) -> Subscription | None:
        doc = await self._subscriptions.find_one(
            {"_id": subscription_id, "shop_id": {"$in": list(shops)}}
        )
        return None if doc is None else Subscription.from_document(doc)

    async def of_shops(self, shops: Sequence[str], limit: int) -> list[Subscription]:
        cursor = (
            self._subscriptions.find({"shop_id": {"$in": list(shops)}})
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        return [Subscription.from_document(doc) async for doc in cursor]

    async def update(
        self, subscription_id: str, shops: Sequence[str], changes: dict[str, Any]
    ) -> Subscription | None:
        doc = await self._subscriptions.find_one_and_update(
            {"_id": subscription_id, "shop_id": {"$in": list(shops)}},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else Subscription.from_document(doc)

    async def delete(self, subscription_id: str, shops: Sequence[str]) -> bool:
        result = await self._subscriptions.delete_one(
            {"_id": subscription_id, "shop_id": {"$in": list(shops)}}
        )
        return bool(result.deleted_count)

    async def deliveries(
        self, subscription_id: str, state: str | None, limit: int
    ) -> list[Document]:
        query: dict[str, Any] = {"subscription_id": subscription_id}
        if state is not None:
            query["state"] = state
        cursor = self._deliveries.find(query, {"body": 0}).sort("seq", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def replay(
        self, subscription_id: str, now: datetime, delivery_ids: Sequence[str] | None
    ) -> int:
        return await replay_parked(self._db, subscription_id, now, delivery_ids)
