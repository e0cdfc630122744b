"""The `tracking_jobs` collection: one document per package with a tracking number.

The consumer creates and stops jobs; the shard holder loads them and saves what it last
published (the snapshot) when it changes. Writes are by `_id` (the tracking number) and never
depend on a read-then-write being atomic.

Writes of several jobs (`save_many`) are one unordered bulk write (docs/decisions/0085).
Every write `$set`s named fields, so fields a newer tracker stored survive this one's writes;
reads ignore them (docs/decisions/0190).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from orderlens.domain.status import TrackingStatus
from orderlens.events import CheckpointData
from orderlens.indexes import create_missing_indexes
from orderlens.mongo import stream
from orderlens_tracker.domain import Package, TrackingSnapshot, shard_of

log = logging.getLogger("orderlens.tracker.jobs")

JOBS = "tracking_jobs"
# A job document, generously: one package's snapshot with its checkpoints. A shard's jobs are
# read streamed (docs/decisions/0220).
JOB_BYTES = 64 * 1024

# `shard_updated` serves both the load of a shard (by its prefix) and the refresh of what
# changed in it.
INDEXES = [
    IndexModel([("shard", ASCENDING), ("updated_at", ASCENDING)], name="shard_updated"),
    IndexModel([("order_id", ASCENDING)], name="order_id"),
]


@dataclass
class Job:
    package: Package
    shard: int
    active: bool
    snapshot: TrackingSnapshot | None
    next_due_at: datetime | None


class JobStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], shards: int) -> None:
        self.collection = db[JOBS]
        self.shards = shards

    async def ensure_indexes(self) -> None:
        await create_missing_indexes(self.collection, INDEXES)

    async def track(self, package: Package, now: datetime) -> None:
        """Create the job, or refresh what is known about its package. Never re-activates a
        stopped job, and never moves a due time: a redelivered event changes nothing."""
        known = {
            k: v
            for k, v in {
                "order_id": package.order_id,
                "shop_id": package.shop_id,
                "package_id": package.package_id,
                "carrier": package.carrier,
            }.items()
            if v is not None
        }
        update = {
            "$set": {**known, "updated_at": now},
            "$setOnInsert": {
                "tracking_number": package.tracking_number,
                "shard": shard_of(package.tracking_number, self.shards),
                "active": True,
                "snapshot": None,
                "next_due_at": None,
                "created_at": now,
            },
        }
        try:
            await self.collection.update_one({"_id": package.tracking_number}, update, upsert=True)
        except DuplicateKeyError:
            # Two upserts raced to insert; the other one won: this one is an update now.
            await self.collection.update_one({"_id": package.tracking_number}, update)

    async def add_many(self, packages: Sequence[Package], now: datetime) -> int:
        """Insert new jobs in bulk (load tests, back-fills); existing ones are left alone."""
        if not packages:
            return 0
        documents = [
            {
                "_id": p.tracking_number,
                "tracking_number": p.tracking_number,
                "order_id": p.order_id,
                "shop_id": p.shop_id,
                "package_id": p.package_id,
                "carrier": p.carrier,
                "shard": shard_of(p.tracking_number, self.shards),
                "active": True,
                "snapshot": None,
                "next_due_at": None,
                "created_at": now,
                "updated_at": now,
            }
            for p in packages
        ]
        try:
            result = await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            return int(exc.details.get("nInserted", 0))
        return len(result.inserted_ids)

    async def stop_order(self, order_id: str, reason: str, now: datetime) -> None:
        await self.collection.update_many(
            {"order_id": order_id, "active": True},
            {"$set": {"active": False, "stop_reason": reason, "updated_at": now}},
        )

    async def stop(self, tracking_number: str, reason: str, now: datetime) -> None:
        await self.collection.update_one(
            {"_id": tracking_number},
            {"$set": {"active": False, "stop_reason": reason, "updated_at": now}},
        )

    async def load(self, shards: Iterable[int]) -> list[Job]:
        """The active jobs of these shards."""
        query = {"shard": {"$in": sorted(shards)}, "active": True}
        found = stream(self.collection, query, document_bytes=JOB_BYTES)
        return [job_from_document(doc) async for doc in found]

    async def changed_since(self, shards: Iterable[int], since: datetime) -> list[Job]:
        """Jobs of these shards created, updated or stopped by the consumer since `since`."""
        query = {"shard": {"$in": sorted(shards)}, "updated_at": {"$gte": since}}
        found = stream(self.collection, query, document_bytes=JOB_BYTES)
        return [job_from_document(doc) async for doc in found]

    async def save_many(
        self, changes: Sequence[tuple[str, TrackingSnapshot, datetime | None]], now: datetime
    ) -> None:
        """Record what was published; a final snapshot ends its job."""
        if changes:
            await self.collection.bulk_write(
                [
                    UpdateOne({"_id": number}, {"$set": _saved(snapshot, due, now)})
                    for number, snapshot, due in changes
                ],
                ordered=False,
            )


def _saved(
    snapshot: TrackingSnapshot, next_due_at: datetime | None, now: datetime
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "snapshot": snapshot_document(snapshot),
        "tracking_status": snapshot.status.value,
        "next_due_at": next_due_at,
        "changed_at": now,
    }
    if next_due_at is None:
        fields.update(active=False, stop_reason=f"final status {snapshot.status.value}")
    return fields


def snapshot_document(snapshot: TrackingSnapshot) -> dict[str, Any]:
    return {
        "status": snapshot.status.value,
        "estimated_delivery_at": snapshot.estimated_delivery_at,
        "checkpoints": [c.model_dump(mode="python") for c in snapshot.checkpoints],
    }


def snapshot_from_document(tracking_number: str, doc: dict[str, Any]) -> TrackingSnapshot:
    """Fields a newer tracker added (to the snapshot or its checkpoints) are ignored
    (docs/decisions/0190)."""
    return TrackingSnapshot(
        tracking_number=tracking_number,
        status=TrackingStatus(doc["status"]),
        checkpoints=tuple(
            CheckpointData.model_validate({**c, "at": _utc(c["at"])}, extra="ignore")
            for c in doc.get("checkpoints") or []
        ),
        estimated_delivery_at=_utc(doc.get("estimated_delivery_at")),
    )


def _readable_snapshot(tracking_number: str, raw: Any) -> TrackingSnapshot | None:
    """The stored snapshot, or None when this version cannot read it (a status it does not
    know): the parcel is then polled afresh, instead of the load of its whole shard failing
    and being retried for ever."""
    if not isinstance(raw, dict):
        return None
    try:
        return snapshot_from_document(tracking_number, raw)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning(
            "unreadable tracking snapshot, polling afresh: %s",
            exc,
            extra={"tracking_number": tracking_number},
        )
        return None


def job_from_document(doc: dict[str, Any]) -> Job:
    number = str(doc["_id"])
    return Job(
        package=Package(
            tracking_number=number,
            order_id=str(doc["order_id"]),
            shop_id=str(doc["shop_id"]),
            package_id=doc.get("package_id"),
            carrier=doc.get("carrier"),
        ),
        shard=int(doc["shard"]),
        active=bool(doc.get("active", True)),
        snapshot=_readable_snapshot(number, doc.get("snapshot")),
        next_due_at=_utc(doc.get("next_due_at")),
    )


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
