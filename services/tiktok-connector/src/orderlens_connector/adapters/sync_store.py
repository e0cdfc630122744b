"""Per-shop backfill/reconcile progress in MongoDB (`tiktok_sync`, docs/decisions/0096).

The page token and the cursor are written after each page's snapshots are published, so a
connector killed at any moment resumes at the last page it finished (at least once)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]
BACKFILL, RECONCILE, STOPPED = "backfill", "reconcile", "stopped"


class SyncProgressStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._jobs = db["tiktok_sync"]

    async def start(self, shop_id: str, window_ge: int) -> None:
        """A new shop starts its backfill; a reconnected one resumes (or restarts if stopped)."""
        await self._jobs.update_one(
            {"_id": shop_id},
            {
                "$setOnInsert": {
                    "window_ge": window_ge,
                    "window_lt": None,
                    "page_token": "",
                    "cursor_time": window_ge,
                    "orders_fetched": 0,
                    "phase": BACKFILL,
                    "last_success": None,
                    "last_error": "",
                }
            },
            upsert=True,
        )
        await self._jobs.update_one(
            {"_id": shop_id, "phase": STOPPED}, {"$set": {"phase": RECONCILE}}
        )
        await self._jobs.update_one({"_id": shop_id}, {"$set": {"due_at": 0}})

    async def get(self, shop_id: str) -> Doc | None:
        return await self._jobs.find_one({"_id": shop_id})

    async def due(self, now: float) -> list[str]:
        found = self._jobs.find({"due_at": {"$lte": now}, "phase": {"$ne": STOPPED}}, {"_id": 1})
        return [str(d["_id"]) async for d in found]

    async def all(self) -> list[Doc]:
        return [d async for d in self._jobs.find({})]

    async def begin_window(self, shop_id: str, window_lt: int) -> None:
        await self._jobs.update_one({"_id": shop_id}, {"$set": {"window_lt": window_lt}})

    async def save_page(
        self, shop_id: str, page_token: str, cursor_time: int, fetched: int
    ) -> None:
        await self._jobs.update_one(
            {"_id": shop_id},
            {
                "$set": {"page_token": page_token, "cursor_time": cursor_time},
                "$inc": {"orders_fetched": fetched},
            },
        )

    async def finish_window(self, shop_id: str, *, next_ge: int, at: int, due_at: float) -> None:
        await self._jobs.update_one(
            {"_id": shop_id},
            {
                "$set": {
                    "phase": RECONCILE,
                    "window_ge": next_ge,
                    "window_lt": None,
                    "page_token": "",
                    "last_success": at,
                    "last_error": "",
                    "due_at": due_at,
                }
            },
        )

    async def failed(self, shop_id: str, error: str, *, due_at: float | None) -> None:
        fields: Doc = {"last_error": error}
        if due_at is None:
            fields["phase"] = STOPPED
        else:
            fields["due_at"] = due_at
        await self._jobs.update_one({"_id": shop_id}, {"$set": fields})
