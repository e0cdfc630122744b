"""Shard leases in MongoDB: which replica polls which parcels (docs/decisions/0050).

Jobs are spread over a fixed number of shards. A replica polls only the jobs of the shards it
holds a lease on, so two replicas never poll one parcel at once; a crashed replica's leases
expire after `lease_seconds` and the others take its shards over.

Taking a lease relies on the one write FerretDB 1.24 performs atomically: inserting a document
whose `_id` exists fails. (Its conditional updates and findAndModify read and then write, so two
replicas can both "win" them; measured in the decision record.) Each shard has a chain of lease
documents `<shard>-<generation>`; the one with the highest generation is the shard's lease. To
take a free or expired shard a replica inserts the next generation: of several replicas that saw
the same head exactly one insert succeeds. The holder renews its own document only, and only
while it has not expired, so no one else can have taken the shard in between.

Replicas also write a heartbeat; each aims at `ceil(shards / live replicas)` shards, releasing
extras (after the polls in flight on them ended) and taking free ones, so the work rebalances when a
replica joins or leaves.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

log = logging.getLogger("orderlens.tracker.leases")

LEASES = "tracking_shard_leases"
REPLICAS = "tracking_replicas"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Generations kept per shard; older ones are deleted (see `_verify`).
KEEP_GENERATIONS = 3


@dataclass(frozen=True)
class Lease:
    shard: int
    generation: int
    owner: str
    expires_at: datetime

    @property
    def id(self) -> str:
        return lease_id(self.shard, self.generation)


def lease_id(shard: int, generation: int) -> str:
    return f"{shard:04d}-{generation:010d}"


@dataclass
class Rebalance:
    gained: set[int]
    lost: set[int]
    live_replicas: int


class ShardLeases:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        replica_id: str,
        *,
        shards: int,
        lease_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.leases = db[LEASES]
        self.replicas = db[REPLICAS]
        self.replica_id = replica_id
        self.shards = shards
        self.lease_seconds = lease_seconds
        self._clock = clock
        self.owned: dict[int, Lease] = {}
        self.draining: set[int] = set()
        self.live_replicas = 1

    # -- questions ------------------------------------------------------------------------------

    def valid_for(self, shard: int, seconds: float) -> bool:
        """True when this replica holds `shard` for at least `seconds` more and keeps it."""
        lease = self.owned.get(shard)
        if lease is None or shard in self.draining:
            return False
        return lease.expires_at - self._clock() >= timedelta(seconds=seconds)

    # -- membership -----------------------------------------------------------------------------

    async def heartbeat(self) -> int:
        """Record this replica as alive; answer how many replicas are alive."""
        now = self._clock()
        await self.replicas.update_one(
            {"_id": self.replica_id}, {"$set": {"seen_at": now}}, upsert=True
        )
        alive_since = now - timedelta(seconds=self.lease_seconds)
        live = 0
        async for doc in self.replicas.find({}, {"seen_at": 1}):
            seen = doc.get("seen_at")
            if isinstance(seen, datetime) and _aware(seen) > alive_since:
                live += 1
        self.live_replicas = max(1, live)
        return self.live_replicas

    async def leave(self) -> None:
        await self.release(set(self.owned))
        await self.replicas.delete_one({"_id": self.replica_id})

    # -- leases ---------------------------------------------------------------------------------

    async def rebalance(self, busy: Callable[[int], bool]) -> Rebalance:
        """Renew, release extras, take free shards. `busy(shard)`: a poll is in flight there."""
        live = await self.heartbeat()
        target = math.ceil(self.shards / live)
        heads = await self._heads()
        now = self._clock()
        lost = self._check_owned(heads, now)
        await self._renew(now)
        surplus = len(self.owned) - target
        # Extras first drain (no new polls there), then go once their polls in flight ended.
        self.draining = set(sorted(self.owned, reverse=True)[:surplus]) if surplus > 0 else set()
        await self.release({s for s in self.draining if not busy(s)})
        gained: set[int] = set()
        if len(self.owned) < target:
            gained = await self._take(heads, target - len(self.owned), now)
        return Rebalance(gained=gained, lost=lost, live_replicas=live)

    async def release(self, shards: set[int]) -> None:
        """Give shards back at once (their lease documents expire now)."""
        leases = [self.owned.pop(s) for s in shards if s in self.owned]
        self.draining -= shards
        if leases:
            await self.leases.update_many(
                {"_id": {"$in": [lease.id for lease in leases]}},
                {"$set": {"expires_at": EPOCH}},
            )

    async def _heads(self) -> dict[int, Lease]:
        heads: dict[int, Lease] = {}
        async for doc in self.leases.find({}):
            lease = _lease(doc)
            if lease.shard not in heads or lease.generation > heads[lease.shard].generation:
                heads[lease.shard] = lease
        return heads

    def _check_owned(self, heads: dict[int, Lease], now: datetime) -> set[int]:
        lost = set()
        # Renewing late would race a replica that already saw the lease expired.
        margin = timedelta(seconds=min(1.0, self.lease_seconds / 10))
        for shard, lease in list(self.owned.items()):
            head = heads.get(shard)
            if head is None or head.id != lease.id or lease.expires_at - now < margin:
                del self.owned[shard]
                lost.add(shard)
        if lost:
            log.warning("lost shard leases", extra={"shards": sorted(lost)})
        return lost

    async def _renew(self, now: datetime) -> None:
        if not self.owned:
            return
        expires = now + timedelta(seconds=self.lease_seconds)
        await self.leases.update_many(
            {"_id": {"$in": [lease.id for lease in self.owned.values()]}},
            {"$set": {"expires_at": expires}},
        )
        self.owned = {
            s: Lease(s, lease.generation, lease.owner, expires) for s, lease in self.owned.items()
        }

    async def _take(self, heads: dict[int, Lease], wanted: int, now: datetime) -> set[int]:
        free = [
            s
            for s in range(self.shards)
            if s not in self.owned and (s not in heads or heads[s].expires_at <= now)
        ]
        # Replicas starting together should not all race for shard 0 first.
        random.shuffle(free)
        gained: set[int] = set()
        for shard in free:
            if len(gained) >= wanted:
                break
            head = heads.get(shard)
            generation = (head.generation if head else 0) + 1
            lease = Lease(
                shard,
                generation,
                self.replica_id,
                self._clock() + timedelta(seconds=self.lease_seconds),
            )
            try:
                await self.leases.insert_one(
                    {
                        "_id": lease.id,
                        "shard": shard,
                        "generation": generation,
                        "owner": self.replica_id,
                        "expires_at": lease.expires_at,
                    }
                )
            except DuplicateKeyError:
                continue
            if await self._verify(lease):
                self.owned[shard] = lease
                gained.add(shard)
        return gained

    async def _verify(self, lease: Lease) -> bool:
        """After winning generation g, make sure no later one exists, then prune old ones.

        Pruning lets a replica that read a very old head insert a stale generation; this check
        (the highest generation decides) keeps such a replica from believing it holds the shard.
        """
        newest = 0
        async for doc in self.leases.find({"shard": lease.shard}, {"generation": 1}):
            newest = max(newest, int(doc["generation"]))
        if newest != lease.generation:
            return False
        await self.leases.delete_many(
            {"shard": lease.shard, "generation": {"$lte": lease.generation - KEEP_GENERATIONS}}
        )
        return True


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _lease(doc: dict[str, Any]) -> Lease:
    return Lease(
        shard=int(doc["shard"]),
        generation=int(doc["generation"]),
        owner=str(doc.get("owner")),
        expires_at=_aware(doc["expires_at"]),
    )
