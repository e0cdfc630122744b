"""At most N running exports per shop, across every exporter replica, without transactions.

Each shop has N slot documents, `_id = "<shop>#<i>"` for i < N. A worker takes a slot by
inserting that document: the unique `_id` lets exactly one inserter win, so two replicas
counting "1 running" at the same moment cannot both start a third export. An export over
several shops needs a slot in each (taken in shop order, all released if one is missing); it
then waits `queued`.

A slot is released when its export finishes. A slot whose holder died is freed by whoever next
finds the shop full: the holder's record no longer runs that attempt under a live lease (after a
grace period, so that a slot taken a moment ago by a claim in progress is not mistaken for
one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.domain.export import EXPORTS_COLLECTION, ExportStatus
from orderlens.indexes import create_missing_indexes
from orderlens.mongo import Document

SLOTS_COLLECTION = "export_slots"


@dataclass(frozen=True)
class Slot:
    key: str
    shop_id: str
    export_id: str
    attempt: int
    acquired_at: datetime


def slot_is_live(slot: Slot, holder: Document | None, *, now: datetime, grace: timedelta) -> bool:
    """Does the slot still belong to a running attempt (or to a claim just being made)?"""
    if slot.acquired_at > now - grace:
        return True
    if holder is None:
        return False
    lease = holder.get("lease_expires_at")
    return (
        holder.get("status") == ExportStatus.RUNNING.value
        and holder.get("attempts") == slot.attempt
        and lease is not None
        and lease >= now
    )


class ShopSlots:
    def __init__(self, db: AsyncDatabase[Document], *, per_shop: int, grace: timedelta) -> None:
        self._slots = db[SLOTS_COLLECTION]
        self._exports = db[EXPORTS_COLLECTION]
        self.per_shop = per_shop
        self.grace = grace

    async def ensure_indexes(self) -> None:
        await create_missing_indexes(
            self._slots,
            [
                IndexModel([("shop_id", ASCENDING)], name="shop_id"),
                IndexModel([("export_id", ASCENDING)], name="export_id"),
            ],
        )

    async def acquire(
        self, export_id: str, attempt: int, shop_ids: list[str], *, now: datetime
    ) -> str | None:
        """Take a slot in every shop of the export for this attempt, or none at all.

        Answers None when every slot was taken, else the shop that has no free slot.
        """
        taken: list[str] = []
        for shop_id in sorted(set(shop_ids)):
            key = await self._acquire_one(shop_id, export_id, attempt, now)
            if key is None:
                if taken:
                    await self._slots.delete_many({"_id": {"$in": taken}, "export_id": export_id})
                return shop_id
            taken.append(key)
        return None

    async def _acquire_one(
        self, shop_id: str, export_id: str, attempt: int, now: datetime
    ) -> str | None:
        for sweep in (False, True):
            if sweep and not await self._free_stale(shop_id, now):
                return None
            for index in range(self.per_shop):
                key = f"{shop_id}#{index}"
                try:
                    await self._slots.insert_one(
                        {
                            "_id": key,
                            "shop_id": shop_id,
                            "export_id": export_id,
                            "attempt": attempt,
                            "acquired_at": now,
                        }
                    )
                except DuplicateKeyError:
                    continue
                return key
        return None

    async def _free_stale(self, shop_id: str, now: datetime) -> int:
        freed = 0
        async for doc in self._slots.find({"shop_id": shop_id}):
            slot = Slot(
                key=doc["_id"],
                shop_id=shop_id,
                export_id=doc["export_id"],
                attempt=doc["attempt"],
                acquired_at=doc["acquired_at"],
            )
            holder = await self._exports.find_one(
                {"_id": slot.export_id}, {"status": 1, "attempts": 1, "lease_expires_at": 1}
            )
            if slot_is_live(slot, holder, now=now, grace=self.grace):
                continue
            # Delete exactly the document seen, never a slot someone took since.
            result = await self._slots.delete_one(
                {"_id": slot.key, "export_id": slot.export_id, "attempt": slot.attempt}
            )
            freed += result.deleted_count
        return freed

    async def release(self, export_id: str, attempt: int) -> None:
        await self._slots.delete_many({"export_id": export_id, "attempt": attempt})

    async def held_by_shop(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        async for doc in self._slots.find({}, {"shop_id": 1}):
            counts[doc["shop_id"]] = counts.get(doc["shop_id"], 0) + 1
        return counts
