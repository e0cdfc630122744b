"""The seller inbox as the notifier writes it (collection `inbox_items`, decision 0185) and the
preferences it reads (collection `notification_preferences`, written by query-api)."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.indexes import create_missing_indexes
from orderlens.mongo import Document
from orderlens.notifications import (
    INBOX_COLLECTION,
    PREFERENCES_COLLECTION,
    RETENTION,
    InboxItem,
    InboxKind,
    MailKind,
)

INBOX_INDEXES = [
    IndexModel(
        [("shops", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
        name="shops_created",
    ),
    IndexModel(
        [("created_at", ASCENDING)],
        name="created_ttl",
        expireAfterSeconds=int(RETENTION.total_seconds()),
    ),
]
# Two separate indexes: MongoDB cannot index two array fields in one.
PREFERENCES_INDEXES = [
    IndexModel([("shops", ASCENDING)], name="shops"),
    IndexModel([("buyer_user_id", ASCENDING)], name="buyer_user_id"),
]


class InboxStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._items = db[INBOX_COLLECTION]

    async def ensure_indexes(self) -> None:
        await create_missing_indexes(self._items, INBOX_INDEXES)

    async def add(self, item: InboxItem) -> bool:
        """Write the item unless it exists: True when this call wrote it. `$setOnInsert` only,
        so a redelivered event changes nothing, not even what query-api wrote (`read_by`)."""
        doc = item.to_document()
        del doc["_id"]  # the filter's, on insert
        result = await self._items.update_one({"_id": item.id}, {"$setOnInsert": doc}, upsert=True)
        return result.upserted_id is not None


class PreferencesReader:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._prefs = db[PREFERENCES_COLLECTION]

    async def ensure_indexes(self) -> None:
        await create_missing_indexes(self._prefs, PREFERENCES_INDEXES)

    async def muting(self, shops: Sequence[str], kind: InboxKind) -> list[str]:
        """The users of these shops who switched inbox items of `kind` off."""
        cursor = self._prefs.find(
            {"shops": {"$in": list(shops)}, "inbox_off": kind.value}, {"_id": 1}
        )
        return sorted({doc["_id"] async for doc in cursor})

    async def mail_wanted(self, buyer_user_id: str, kind: MailKind) -> bool:
        muted = await self._prefs.find_one(
            {"buyer_user_id": buyer_user_id, "email_off": kind.value}, {"_id": 1}
        )
        return muted is None
