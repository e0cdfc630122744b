"""Shard leases on the real MongoDB-wire server: replicas share the shards, one holder each."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from orderlens.waiting import wait_for
from orderlens_tracker.adapters.leases import ShardLeases

SHARDS = 16


def holders(replicas: list[ShardLeases]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for replica in replicas:
        for shard in replica.owned:
            found.setdefault(shard, []).append(replica.replica_id)
    return found


async def test_replicas_racing_for_shards_each_get_their_share_and_never_the_same_one(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    replicas = [
        ShardLeases(mongo_db, f"replica-{i}", shards=SHARDS, lease_seconds=5.0) for i in range(4)
    ]
    await asyncio.gather(*(r.heartbeat() for r in replicas))
    for _ in range(4):
        # Everyone at once, as replicas started together would.
        await asyncio.gather(*(r.rebalance(lambda _: False) for r in replicas))
        assert all(len(owners) == 1 for owners in holders(replicas).values())
    assert sorted(holders(replicas)) == list(range(SHARDS))
    assert sorted(len(r.owned) for r in replicas) == [4, 4, 4, 4]


async def test_a_crashed_replicas_shards_are_taken_over_after_their_lease(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    first = ShardLeases(mongo_db, "first", shards=SHARDS, lease_seconds=1.5)
    await first.rebalance(lambda _: False)
    assert len(first.owned) == SHARDS
    taken_at = time.monotonic()
    # `first` crashes: it stops renewing and never says goodbye.
    second = ShardLeases(mongo_db, "second", shards=SHARDS, lease_seconds=1.5)
    result = await second.rebalance(lambda _: False)
    assert result.gained == set(), "the crashed replica's leases have not expired yet"

    async def taken_over() -> bool:
        await second.rebalance(lambda _: False)
        return len(second.owned) == SHARDS

    await wait_for(taken_over, within=10, what="the shards to be taken over", every=0.2)
    assert time.monotonic() - taken_at >= 1.5
    # Back from the dead, `first` learns it lost everything and takes nothing.
    lost = await first.rebalance(lambda _: False)
    assert lost.lost == set(range(SHARDS))
    assert first.owned == {}


async def test_a_leaving_replica_hands_its_shards_over_at_once(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    first = ShardLeases(mongo_db, "first", shards=SHARDS, lease_seconds=60.0)
    second = ShardLeases(mongo_db, "second", shards=SHARDS, lease_seconds=60.0)
    await first.rebalance(lambda _: False)
    await first.leave()
    await second.rebalance(lambda _: False)
    assert len(second.owned) == SHARDS


async def test_a_joining_replica_gets_half_once_the_holder_rebalances(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    first = ShardLeases(mongo_db, "first", shards=SHARDS, lease_seconds=60.0)
    second = ShardLeases(mongo_db, "second", shards=SHARDS, lease_seconds=60.0)
    await first.rebalance(lambda _: False)
    await second.heartbeat()
    busy = set(range(8, 16))
    await first.rebalance(lambda shard: shard in busy)  # polls in flight there: it drains
    assert first.draining == busy
    assert not any(first.valid_for(shard, 0) for shard in busy), "no new polls while draining"
    await second.rebalance(lambda _: False)
    assert second.owned == {}
    await first.rebalance(lambda _: False)  # the polls ended
    await second.rebalance(lambda _: False)
    assert len(first.owned) == len(second.owned) == SHARDS // 2
    assert not set(first.owned) & set(second.owned)


async def test_replicas_racing_for_expired_shards_never_take_the_same_one(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    """The take of an expired lease (a guarded find_one_and_update, not an insert) elects one."""
    crashed = ShardLeases(mongo_db, "crashed", shards=SHARDS, lease_seconds=0.5)
    await crashed.rebalance(lambda _: False)
    assert len(crashed.owned) == SHARDS
    await mongo_db["tracking_replicas"].delete_one({"_id": "crashed"})
    replicas = [
        ShardLeases(mongo_db, f"replica-{i}", shards=SHARDS, lease_seconds=5.0) for i in range(4)
    ]
    await asyncio.gather(*(r.heartbeat() for r in replicas))
    deadline = time.monotonic() + 10
    while sorted(holders(replicas)) != list(range(SHARDS)):
        assert time.monotonic() < deadline, "the expired shards were never taken over"
        await asyncio.gather(*(r.rebalance(lambda _: False) for r in replicas))
        assert all(len(owners) == 1 for owners in holders(replicas).values())
    docs = await mongo_db["tracking_shard_leases"].find({}).to_list(None)
    assert {doc["generation"] for doc in docs} == {2}
