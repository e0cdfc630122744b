"""One-time link uses (adapter): collection `buyer_link_uses`, written by query-api alone.

A sign-in link is spent by inserting its nonce as `_id`: the unique primary key makes the
second use fail atomically, on MongoDB and on the local wire server alike."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.mongo import Document

LINK_USES = "buyer_link_uses"


class LinkUses:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._uses = db[LINK_USES]

    async def spend(self, nonce: str, expires_at: datetime) -> bool:
        """True the first time a nonce is spent, False ever after."""
        try:
            await self._uses.insert_one(
                {"_id": nonce, "used_at": datetime.now(UTC), "expires_at": expires_at}
            )
        except DuplicateKeyError:
            return False
        return True
