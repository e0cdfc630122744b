"""The `exports` collection as the exporter sees it: claims, leases, progress, outcomes.

Every write of a worker is conditional on holding a live lease for its attempt (`attempts`,
`lease_owner`, `lease_expires_at` in the future), and a claim of a running record requires its
lease to have expired, so a slow worker and the one that took over never both write. On MongoDB
each conditional update is atomic. The per-attempt claim documents (`lock_attempt`) order the
shop-slot acquisition before the claim, so two workers never take slots for one attempt.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from pydantic import ValidationError
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.domain.export import EXPORTS_COLLECTION, ExportRecord, ExportStatus
from orderlens.filestore import StoredFile
from orderlens.indexes import create_missing_indexes
from orderlens.mongo import Document

log = logging.getLogger("orderlens.exporter")

CLAIMS_COLLECTION = "export_claims"

_INDEXES = [
    IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created"),
    IndexModel([("requested_by", ASCENDING), ("created_at", ASCENDING)], name="requester_created"),
    IndexModel([("expires_at", ASCENDING)], name="expires_at"),
]


class ExportRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._exports = db[EXPORTS_COLLECTION]
        self._claims = db[CLAIMS_COLLECTION]

    async def ensure_indexes(self) -> None:
        await create_missing_indexes(self._exports, _INDEXES)

    async def get(self, export_id: str) -> ExportRecord | None:
        doc = await self._exports.find_one({"_id": export_id})
        return None if doc is None else ExportRecord.from_document(doc)

    async def insert_if_absent(self, record: ExportRecord) -> bool:
        """Store a new record; False when one with its id exists (a redelivered request)."""
        try:
            await self._exports.insert_one(record.to_document())
        except DuplicateKeyError:
            return False
        return True

    async def claimable(self, now: datetime, limit: int) -> list[ExportRecord]:
        """Queued records due now, and running records whose lease expired, oldest first."""
        query = {
            "$or": [
                {
                    "status": ExportStatus.QUEUED.value,
                    "$or": [{"not_before": None}, {"not_before": {"$lte": now}}],
                },
                {"status": ExportStatus.RUNNING.value, "lease_expires_at": {"$lt": now}},
            ]
        }
        cursor = self._exports.find(query, sort=[("created_at", ASCENDING)], limit=limit)
        return [record async for record in _readable(cursor)]

    async def start(
        self, seen: ExportRecord, *, owner: str, now: datetime, lease: timedelta
    ) -> ExportRecord | None:
        """Move `seen` (as read by `claimable`) to `running` for attempt `seen.attempts + 1`
        under a lease; None when it changed since it was read. Call with the attempt locked."""
        condition: Document = {
            "_id": seen.id,
            "status": seen.status.value,
            "attempts": seen.attempts,
        }
        if seen.status == ExportStatus.RUNNING:
            condition["lease_expires_at"] = {"$lt": now}
        doc = await self._exports.find_one_and_update(
            condition,
            {
                "$set": {
                    "status": ExportStatus.RUNNING.value,
                    "attempts": seen.attempts + 1,
                    "lease_owner": owner,
                    "lease_expires_at": now + lease,
                    "not_before": None,
                    "started_at": now,
                    "updated_at": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else ExportRecord.from_document(doc)

    async def lock_attempt(
        self, export_id: str, attempt: int, *, owner: str, now: datetime, lease: timedelta
    ) -> bool:
        """Insert the claim document of one attempt: exactly one inserter wins, on any server.

        A claim document left by a worker that died between claiming and starting is removed
        once it is older than a lease, so the attempt can be claimed again.
        """
        key = f"{export_id}#{attempt}"
        document = {"_id": key, "owner": owner, "at": now, "expires_at": now + lease}
        try:
            await self._claims.insert_one(document)
        except DuplicateKeyError:
            stale = await self._claims.delete_one({"_id": key, "expires_at": {"$lt": now}})
            if stale.deleted_count != 1:
                return False
            try:
                await self._claims.insert_one(document)
            except DuplicateKeyError:
                return False
        return True

    async def unlock_attempt(self, export_id: str, attempt: int, *, owner: str) -> None:
        await self._claims.delete_one({"_id": f"{export_id}#{attempt}", "owner": owner})

    async def forget_claims(self, export_id: str) -> None:
        """Claim documents of a finished export are no longer needed."""
        await self._claims.delete_many({"_id": {"$regex": f"^{re.escape(export_id)}#"}})

    @staticmethod
    def _held(record: ExportRecord, now: datetime) -> Document:
        return {
            "_id": record.id,
            "status": ExportStatus.RUNNING.value,
            "attempts": record.attempts,
            "lease_owner": record.lease_owner,
            "lease_expires_at": {"$gte": now},
        }

    async def renew(
        self,
        record: ExportRecord,
        *,
        now: datetime,
        lease: timedelta,
        rows: int,
        progress: float,
        orders_total: int | None,
    ) -> bool:
        """Extend the lease and report progress; False when the lease was lost."""
        result = await self._exports.update_one(
            self._held(record, now),
            {
                "$set": {
                    "lease_expires_at": now + lease,
                    "updated_at": now,
                    "orders_total": orders_total,
                },
                # A retried attempt restarts from zero: it reports nothing until it passes
                # what the previous attempt reported, so progress never goes backwards.
                "$max": {"rows": rows, "progress": progress},
            },
        )
        return result.matched_count == 1

    async def succeed(
        self,
        record: ExportRecord,
        *,
        now: datetime,
        stored: StoredFile,
        file_name: str,
        rows: int,
        expires_at: datetime,
    ) -> bool:
        result = await self._exports.update_one(
            self._held(record, now),
            {
                "$set": {
                    "status": ExportStatus.SUCCEEDED.value,
                    "rows": rows,
                    "progress": 1.0,
                    "file_name": file_name,
                    "file_key": stored.key,
                    "bytes": stored.bytes,
                    "sha256": stored.sha256,
                    "error": None,
                    "finished_at": now,
                    "updated_at": now,
                    "expires_at": expires_at,
                    "lease_expires_at": None,
                    "completion_published": False,
                }
            },
        )
        return result.matched_count == 1

    async def fail(
        self, record: ExportRecord, *, now: datetime, error: str, expires_at: datetime
    ) -> bool:
        """A permanent failure, by the worker holding the lease."""
        result = await self._exports.update_one(
            self._held(record, now), {"$set": self._failed_fields(now, error, expires_at)}
        )
        return result.matched_count == 1

    async def fail_abandoned(
        self, seen: ExportRecord, *, now: datetime, error: str, expires_at: datetime
    ) -> bool:
        """Give up on a record whose workers kept dying (its lease expired, attempts used up)."""
        result = await self._exports.update_one(
            {
                "_id": seen.id,
                "status": ExportStatus.RUNNING.value,
                "attempts": seen.attempts,
                "lease_expires_at": {"$lt": now},
            },
            {"$set": self._failed_fields(now, error, expires_at)},
        )
        return result.matched_count == 1

    @staticmethod
    def _failed_fields(now: datetime, error: str, expires_at: datetime) -> Document:
        return {
            "status": ExportStatus.FAILED.value,
            "error": error[:2000],
            "finished_at": now,
            "updated_at": now,
            "expires_at": expires_at,
            "lease_expires_at": None,
            "completion_published": False,
        }

    async def requeue(
        self, record: ExportRecord, *, now: datetime, error: str, not_before: datetime
    ) -> bool:
        """After a transient failure: back to `queued`, not claimed before `not_before`."""
        result = await self._exports.update_one(
            self._held(record, now),
            {
                "$set": {
                    "status": ExportStatus.QUEUED.value,
                    "error": error[:2000],
                    "not_before": not_before,
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "updated_at": now,
                }
            },
        )
        return result.matched_count == 1

    async def unpublished(self, limit: int = 100) -> list[ExportRecord]:
        """Finished records whose `orders.export-completed` event is not yet acknowledged."""
        cursor = self._exports.find(
            {
                "status": {"$in": [ExportStatus.SUCCEEDED.value, ExportStatus.FAILED.value]},
                "completion_published": False,
            },
            limit=limit,
        )
        return [record async for record in _readable(cursor)]

    async def mark_published(self, record: ExportRecord) -> None:
        await self._exports.update_one(
            {"_id": record.id, "status": record.status.value, "attempts": record.attempts},
            {"$set": {"completion_published": True}},
        )

    async def expired_files(self, now: datetime, limit: int = 100) -> list[ExportRecord]:
        cursor = self._exports.find(
            {
                "status": ExportStatus.SUCCEEDED.value,
                "expires_at": {"$lte": now},
                "file_deleted_at": None,
            },
            limit=limit,
        )
        return [record async for record in _readable(cursor)]

    async def mark_file_deleted(self, record: ExportRecord, now: datetime) -> None:
        await self._exports.update_one(
            {"_id": record.id}, {"$set": {"file_deleted_at": now, "updated_at": now}}
        )

    async def live_file_keys(self) -> set[str]:
        """Keys of files that a record still points at (the rest may be swept)."""
        cursor = self._exports.find(
            {"file_key": {"$ne": None}, "file_deleted_at": None}, {"file_key": 1}
        )
        return {doc["file_key"] async for doc in cursor if doc.get("file_key")}

    async def count_running(self) -> int:
        return await self._exports.count_documents({"status": ExportStatus.RUNNING.value})


async def _readable(cursor: AsyncCursor[Document]) -> AsyncIterator[ExportRecord]:
    """The records of `cursor` this version can read. Unknown fields are ignored already
    (`ExportRecord`); a record it cannot read at all (a format it does not know) is passed over
    and left as it is for a version that can, instead of failing every pass of the worker loop
    (docs/decisions/0190)."""
    async for doc in cursor:
        try:
            yield ExportRecord.from_document(doc)
        except ValidationError as exc:
            log.warning(
                "passing over an export record this version cannot read: %s",
                exc.errors()[0].get("msg") if exc.errors() else exc,
                extra={"export_id": doc.get("_id")},
            )
