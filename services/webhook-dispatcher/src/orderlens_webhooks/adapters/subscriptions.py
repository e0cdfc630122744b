"""`webhook_subscriptions`, read only: query-api is its one writer (docs/contract.md §2)."""

from __future__ import annotations

from collections.abc import Iterable

from pymongo.asynchronous.database import AsyncDatabase

from orderlens.mongo import Document
from orderlens.webhooks import SUBSCRIPTIONS, Subscription


class SubscriptionReader:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection = db[SUBSCRIPTIONS]

    async def for_shops(self, shop_ids: Iterable[str]) -> list[Subscription]:
        """The active subscriptions of these shops."""
        shops = sorted(set(shop_ids))
        if not shops:
            return []
        cursor = self._collection.find({"shop_id": {"$in": shops}, "active": True})
        return [Subscription.from_document(doc) async for doc in cursor]

    async def active(self) -> list[Subscription]:
        cursor = self._collection.find({"active": True})
        return [Subscription.from_document(doc) async for doc in cursor]

    async def get(self, subscription_id: str) -> Subscription | None:
        doc = await self._collection.find_one({"_id": subscription_id})
        return None if doc is None else Subscription.from_document(doc)
