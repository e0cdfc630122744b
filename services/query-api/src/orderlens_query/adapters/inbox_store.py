"""The seller inbox as query-api uses it: read the notifier's items (collection `inbox_items`)
and write the one field query-api owns, `read_by` (decision 0185)."""

from __future__ import annotations

from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.filters import CursorPosition, keyset_filter
from orderlens.mongo import Document
from orderlens.notifications import INBOX_COLLECTION, InboxItem
from orderlens_query.adapters.export_records import NEWEST_FIRST


class InboxStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._items = db[INBOX_COLLECTION]

    async def page(
        self, query: dict[str, Any], *, after: CursorPosition | None, limit: int
    ) -> list[InboxItem]:
        if after is not None:
            query = {"$and": [query, keyset_filter(NEWEST_FIRST, after)]}
        cursor = self._items.find(
            query, sort=[("created_at", DESCENDING), ("_id", DESCENDING)], limit=limit
        )
        return [InboxItem.from_document(doc) async for doc in cursor]

    async def count(self, query: dict[str, Any]) -> int:
        return await self._items.count_documents(query)

    async def get(self, query: dict[str, Any]) -> InboxItem | None:
        doc = await self._items.find_one(query)
        return None if doc is None else InboxItem.from_document(doc)

    async def set_read(self, query: dict[str, Any], sub: str, read: bool) -> bool:
        """False when no item matches `query` (not one the caller may see)."""
        change = {"$addToSet": {"read_by": sub}} if read else {"$pull": {"read_by": sub}}
        result = await self._items.update_one(query, change)
        return result.matched_count > 0

    async def read_all(self, query: dict[str, Any], sub: str) -> int:
        result = await self._items.update_many(
            {"$and": [query, {"read_by": {"$ne": sub}}]}, {"$addToSet": {"read_by": sub}}
        )
        return result.modified_count
