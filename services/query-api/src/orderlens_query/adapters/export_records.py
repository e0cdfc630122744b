"""The `exports` collection as query-api uses it (create, read, list) and the per-caller lease
that serialises one caller's export requests (decision 0073)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.domain.export import EXPORTS_COLLECTION, ExportRecord, ExportStatus
from orderlens.filters import CursorPosition, Sort, keyset_filter
from orderlens.mongo import Document
from orderlens_query.problems import ProblemException

EXPORT_LOCKS_COLLECTION = "export_request_locks"
# Newest first, as the order list's default sort: its signed cursor codec serves both.
NEWEST_FIRST = Sort()


class ExportRecords:
    """The `exports` collection as query-api uses it: create, read, list."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._exports = db[EXPORTS_COLLECTION]

    async def insert(self, record: ExportRecord) -> None:
        await self._exports.insert_one(record.to_document())

    async def get(self, export_id: str) -> ExportRecord | None:
        doc = await self._exports.find_one({"_id": export_id})
        return None if doc is None else ExportRecord.from_document(doc)

    async def pending(self, requested_by: str) -> int:
        return await self._exports.count_documents(
            {
                "requested_by": requested_by,
                "status": {"$in": [ExportStatus.QUEUED.value, ExportStatus.RUNNING.value]},
            }
        )

    async def of_requester(
        self, requested_by: str, *, after: CursorPosition | None, limit: int
    ) -> list[ExportRecord]:
        query: Document = {"requested_by": requested_by}
        if after is not None:
            query = {"$and": [query, keyset_filter(NEWEST_FIRST, after)]}
        cursor = self._exports.find(
            query, sort=[("created_at", DESCENDING), ("_id", DESCENDING)], limit=limit
        )
        return [ExportRecord.from_document(doc) async for doc in cursor]


class CallerLock:
    """One export request per caller at a time, so that count-then-insert cannot be raced past
    the cap (issue 17 #4, decision 0073). A lease document per caller (unique `_id`); a lease a
    crashed request left behind expires after `LEASE`."""

    LEASE = timedelta(seconds=10)
    WAIT_SECONDS = 5.0

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._locks = db[EXPORT_LOCKS_COLLECTION]

    async def _take(self, caller: str, token: str) -> bool:
        now = datetime.now(UTC)
        try:
            await self._locks.insert_one({"_id": caller, "token": token, "until": now + self.LEASE})
        except DuplicateKeyError:
            stolen = await self._locks.update_one(
                {"_id": caller, "until": {"$lt": now}},
                {"$set": {"token": token, "until": now + self.LEASE}},
            )
            return stolen.modified_count == 1
        return True

    @contextlib.asynccontextmanager
    async def held(self, caller: str) -> AsyncIterator[None]:
        token = secrets.token_hex(8)
        deadline = time.monotonic() + self.WAIT_SECONDS
        while not await self._take(caller, token):
            if time.monotonic() > deadline:
                raise ProblemException(
                    429,
                    "another export request of yours is being accepted; retry",
                    headers={"Retry-After": "1"},
                )
            await asyncio.sleep(0.02)
        try:
            yield
        finally:
            await self._locks.delete_one({"_id": caller, "token": token})
