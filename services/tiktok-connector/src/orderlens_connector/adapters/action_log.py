"""Seller actions carried to TikTok, keyed by event id (`tiktok_actions`, docs/decisions/0097)."""

from __future__ import annotations

import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]


class ActionLog:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._actions = db["tiktok_actions"]

    async def claim(self, event_id: str, order_id: str, action: str) -> Doc | None:
        """Record the intent before calling TikTok; returns the earlier record if there is one."""
        try:
            await self._actions.insert_one(
                {
                    "_id": event_id,
                    "order_id": order_id,
                    "action": action,
                    "state": "calling",
                    "at": int(time.time()),
                }
            )
        except DuplicateKeyError:
            return await self._actions.find_one({"_id": event_id})
        return None

    async def finish(self, event_id: str, state: str, detail: str = "") -> None:
        await self._actions.update_one(
            {"_id": event_id}, {"$set": {"state": state, "detail": detail}}
        )
