"""Which replica works a subscription's queue: one lease per subscription (decision 0089).

A lease document (`_id` = subscription id, `generation`, `owner`, `expires_at`) is taken by one
`find_one_and_update` guarded by the generation the replica read and by the lease having
expired, so of racing replicas exactly one wins; a never-leased subscription is taken by
inserting generation 1 (the unique `_id` elects). Renewal is guarded by generation, owner and
the lease still being live: a replica whose renewal does not match has lost the subscription
and stops working it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.mongo import Document
from orderlens.webhooks import LEASES

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Lease:
    subscription_id: str
    generation: int
    owner: str
    expires_at: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SubscriptionLeases:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        owner: str,
        *,
        lease_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._leases = db[LEASES]
        self.owner = owner
        self._ttl = timedelta(seconds=lease_seconds)
        self._clock = clock
        self.held: dict[str, Lease] = {}

    def holds(self, subscription_id: str) -> bool:
        """True while this replica's lease has at least a tenth of its period left."""
        lease = self.held.get(subscription_id)
        return lease is not None and lease.expires_at - self._clock() > self._ttl / 10

    async def take(self, subscription_id: str) -> bool:
        now = self._clock()
        expires = now + self._ttl
        doc = await self._leases.find_one({"_id": subscription_id})
        if doc is None:
            try:
                await self._leases.insert_one(
                    {
                        "_id": subscription_id,
                        "generation": 1,
                        "owner": self.owner,
                        "expires_at": expires,
                    }
                )
            except DuplicateKeyError:
                return False
            self.held[subscription_id] = Lease(subscription_id, 1, self.owner, expires)
            return True
        if _aware(doc["expires_at"]) > now:
            return False
        taken = await self._leases.find_one_and_update(
            {"_id": subscription_id, "generation": doc["generation"], "expires_at": {"$lte": now}},
            {"$inc": {"generation": 1}, "$set": {"owner": self.owner, "expires_at": expires}},
            return_document=ReturnDocument.AFTER,
        )
        if taken is None:
            return False
        self.held[subscription_id] = Lease(
            subscription_id, int(taken["generation"]), self.owner, expires
        )
        return True

    async def renew(self, subscription_id: str) -> bool:
        lease = self.held.get(subscription_id)
        if lease is None:
            return False
        now = self._clock()
        expires = now + self._ttl
        renewed = await self._leases.find_one_and_update(
            {
                "_id": subscription_id,
                "generation": lease.generation,
                "owner": self.owner,
                "expires_at": {"$gt": now},
            },
            {"$set": {"expires_at": expires}},
            return_document=ReturnDocument.AFTER,
        )
        if renewed is None:
            del self.held[subscription_id]
            return False
        self.held[subscription_id] = Lease(subscription_id, lease.generation, self.owner, expires)
        return True

    async def release(self, subscription_id: str) -> None:
        lease = self.held.pop(subscription_id, None)
        if lease is not None:
            await self._leases.update_one(
                {"_id": subscription_id, "generation": lease.generation, "owner": self.owner},
                {"$set": {"expires_at": EPOCH}},
            )
