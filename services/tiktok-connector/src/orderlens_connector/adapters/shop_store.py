"""Connected shops in MongoDB: tokens encrypted at rest, refreshed before they expire (0094).

`TIKTOK_TOKEN_KEYS` holds Fernet keys, newest first: tokens are written with the first and read with
any, so a key is rotated by prepending a new one, calling `rotate_keys`, then dropping the old one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from .tiktok_client import AuthorizationLost, ShopRef, TokenGrant

Doc = dict[str, Any]
CONNECTED, REVOKED = "connected", "revoked"


def key_ring(keys: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise ValueError("TIKTOK_TOKEN_KEYS needs at least one Fernet key")
    return MultiFernet([Fernet(k) for k in parts])


class ShopStore:
    def __init__(
        self,
        db: AsyncDatabase[Doc],
        keys: MultiFernet,
        refresher: Callable[[str], Awaitable[TokenGrant]],
        *,
        refresh_margin: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._shops = db["tiktok_shops"]
        self._keys = keys
        self._refresher = refresher
        self._margin = refresh_margin
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    def _seal(self, text: str) -> bytes:
        return self._keys.encrypt(text.encode())

    def _open(self, sealed: bytes) -> str:
        return self._keys.decrypt(sealed).decode()

    async def connect(self, shops: Sequence[Doc], grant: TokenGrant) -> None:
        """Store a grant for the shops Get Authorized Shops named; reconnecting clears `revoked`."""
        for shop in shops:
            await self._shops.update_one(
                {"_id": str(shop["id"])},
                {
                    "$set": {
                        "cipher": str(shop["cipher"]),
                        "name": str(shop.get("name", "")),
                        "state": CONNECTED,
                        "state_reason": "",
                        **self._grant_fields(grant),
                    }
                },
                upsert=True,
            )

    def _grant_fields(self, grant: TokenGrant) -> Doc:
        return {
            "access_token": self._seal(grant.access_token),
            "refresh_token": self._seal(grant.refresh_token),
            "access_expires_at": grant.access_token_expire_in,
            "refresh_expires_at": grant.refresh_token_expire_in,
            "token_updated_at": int(self._clock()),
        }

    async def shop(self, shop_id: str) -> ShopRef | None:
        doc = await self._shops.find_one({"_id": shop_id, "state": CONNECTED}, {"cipher": 1})
        return ShopRef(shop_id, str(doc["cipher"])) if doc else None

    async def state(self, shop_id: str) -> Doc | None:
        """What a seller may see: state and token expiry, never the tokens."""
        return await self._shops.find_one({"_id": shop_id}, {"access_token": 0, "refresh_token": 0})

    async def states(self) -> list[Doc]:
        found = self._shops.find({}, {"access_token": 0, "refresh_token": 0})
        return [d async for d in found]

    async def revoke(self, shop_id: str, reason: str) -> None:
        await self._shops.update_one(
            {"_id": shop_id},
            {"$set": {"state": REVOKED, "state_reason": reason}, "$unset": {"access_token": ""}},
        )

    async def access_token(self, shop_id: str) -> str:
        doc = await self._connected(shop_id)
        if float(doc["access_expires_at"]) - self._clock() <= self._margin:
            return await self.refresh(shop_id, self._open(doc["access_token"]))
        return self._open(doc["access_token"])

    async def refresh(self, shop_id: str, stale: str) -> str:
        # One refresh per shop at a time; a caller that waited finds the new token and uses it.
        lock = self._locks.setdefault(shop_id, asyncio.Lock())
        async with lock:
            doc = await self._connected(shop_id)
            current = self._open(doc["access_token"])
            fresh_enough = float(doc["access_expires_at"]) - self._clock() > self._margin
            if current != stale and fresh_enough:
                return current
            try:
                grant = await self._refresher(self._open(doc["refresh_token"]))
            except AuthorizationLost as exc:
                await self.revoke(shop_id, f"token refresh refused: {exc}")
                raise
            await self._shops.update_one({"_id": shop_id}, {"$set": self._grant_fields(grant)})
            return grant.access_token

    async def _connected(self, shop_id: str) -> Doc:
        doc = await self._shops.find_one({"_id": shop_id, "state": CONNECTED})
        if doc is None or "access_token" not in doc:
            raise AuthorizationLost(f"shop {shop_id} is not connected")
        return doc

    async def rotate_keys(self) -> int:
        """Re-encrypt every stored token with the newest key; returns the shops rewritten."""
        rewritten = 0
        async for doc in self._shops.find({"access_token": {"$exists": True}}):
            try:
                fields = {f: self._keys.rotate(doc[f]) for f in ("access_token", "refresh_token")}
            except InvalidToken:
                continue  # sealed with a key no longer configured: that shop must reconnect
            await self._shops.update_one({"_id": doc["_id"]}, {"$set": fields})
            rewritten += 1
        return rewritten


class SeenNotificationsStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._seen = db["tiktok_notifications_seen"]

    async def unseen(self, notification_ids: Sequence[str]) -> set[str]:
        found = self._seen.find({"_id": {"$in": list(notification_ids)}}, {"_id": 1})
        known = {str(d["_id"]) async for d in found}
        return {i for i in notification_ids if i not in known}

    async def mark_seen(self, notification_ids: Sequence[str]) -> None:
        if not notification_ids:
            return
        docs = [{"_id": i, "at": int(time.time())} for i in notification_ids]
        try:
            await self._seen.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
