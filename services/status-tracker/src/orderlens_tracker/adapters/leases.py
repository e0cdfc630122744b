"""Shard leases in MongoDB: which replica polls which parcels (docs/decisions/0050).

Jobs are spread over a fixed number of shards. A replica polls only the jobs of the shards it
holds a lease on, so two replicas never poll one parcel at once; a crashed replica's leases
expire after `lease_seconds` and the others take its shards over.

Each shard has one lease document (`_id` = the shard) with a `generation` that every take
increments. Taking a free or expired shard is one atomic `find_one_and_update` guarded by the
generation the replica read and by the lease having expired: of several replicas that saw the
same lease exactly one matches (a shard never leased is taken by inserting generation 1, where
the unique `_id` elects the winner). The holder renews and releases only while the generation is
still its own and the lease has not expired, so no one else can have taken the shard in between
(docs/decisions/0089).

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

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

log = logging.getLogger("orderlens.tracker.leases")

LEASES = "tracking_shard_leases"
REPLICAS = "tracking_replicas"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Lease:
    shard: int
    generation: int
    owner: str
    expires_at: datetime

    @property
    def id(self) -> int:
        return self.shard

    def held(self) -> dict[str, Any]:
        """The filter that matches this lease only while it is still this take of the shard."""
        return {"_id": self.shard, "generation": self.generation, "owner": self.owner}


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
            await self.leases.bulk_write(
                [UpdateOne(lease.held(), {"$set": {"expires_at": EPOCH}}) for lease in leases],
                ordered=False,
            )

    async def _heads(self) -> dict[int, Lease]:
        heads: dict[int, Lease] = {}
        async for doc in self.leases.find({}):
            if isinstance(doc["_id"], str):
                continue  # a `<shard>-<generation>` document of the former chain scheme
            lease = _lease(doc)
            heads[lease.shard] = lease
        return heads

    def _check_owned(self, heads: dict[int, Lease], now: datetime) -> set[int]:
        lost = set()
        # Renewing late would race a replica that already saw the lease expired.
        margin = timedelta(seconds=min(1.0, self.lease_seconds / 10))
        for shard, lease in list(self.owned.items()):
            head = heads.get(shard)
            # The stored lease decides: a renewal that did not match left it as it was.
            if (
                head is None
                or (head.generation, head.owner) != (lease.generation, lease.owner)
                or head.expires_at - now < margin
            ):
                del self.owned[shard]
                lost.add(shard)
        if lost:
            log.warning("lost shard leases", extra={"shards": sorted(lost)})
        return lost

    async def _renew(self, now: datetime) -> None:
        if not self.owned:
            return
        expires = now + timedelta(seconds=self.lease_seconds)
        leases = list(self.owned.values())
        await self.leases.bulk_write(
            [
                UpdateOne(
                    {**lease.held(), "expires_at": {"$gt": now}},
                    {"$set": {"expires_at": expires}},
                )
                for lease in leases
            ],
            ordered=False,
        )
        # Which renewals matched is not reported per operation: the next `_heads` read tells
        # (`_check_owned` drops a lease whose document moved on or expired).
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
            lease = await self._take_one(shard, heads.get(shard), now)
            if lease is not None:
                self.owned[shard] = lease
                gained.add(shard)
        return gained

    async def _take_one(self, shard: int, head: Lease | None, now: datetime) -> Lease | None:
        """Take `shard` as last read (`head`); None when another replica moved it on first."""
        expires = self._clock() + timedelta(seconds=self.lease_seconds)
        if head is None:
            lease = Lease(shard, 1, self.replica_id, expires)
            try:
                await self.leases.insert_one(
                    {"_id": shard, "shard": shard, "generation": 1, **_fields(lease)}
                )
            except DuplicateKeyError:
                return None
            return lease
        doc = await self.leases.find_one_and_update(
            {"_id": shard, "generation": head.generation, "expires_at": {"$lte": now}},
            {
                "$inc": {"generation": 1},
                "$set": {"owner": self.replica_id, "expires_at": expires},
            },
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else _lease(doc)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _fields(lease: Lease) -> dict[str, Any]:
    return {"owner": lease.owner, "expires_at": lease.expires_at}


def _lease(doc: dict[str, Any]) -> Lease:
    return Lease(
        shard=int(doc["shard"]),
        generation=int(doc["generation"]),
        owner=str(doc.get("owner")),
        expires_at=_aware(doc["expires_at"]),
    )
