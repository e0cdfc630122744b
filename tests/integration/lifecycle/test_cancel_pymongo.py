"""A worker looping on PyMongo calls stops when asked, every time (0229).

On Python 3.11 PyMongo's async client loses a cancellation now and then (its sends go through
`asyncio.wait_for`, CPython gh-86296); a single `cancel()` then leaves the worker looping, which
hung a CI run's teardown for 600 s. `cancel_and_wait` must stop it anyway, against the real
server, at whatever moment the stop comes."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from orderlens.lifecycle import cancel_and_wait
from orderlens.mongo import make_client

STOPS = 100


async def test_a_pymongo_loop_is_stopped_at_any_moment(
    mongodb_uri: str, mongo_db_name: str
) -> None:
    # The services' own client: its socket timeout is what routes each send through `wait_for`.
    client = make_client(mongodb_uri, app_name="test-cancel")
    try:
        await _stop_many_times(client[mongo_db_name]["jobs"])
    finally:
        await client.close()


async def _stop_many_times(jobs: Any) -> None:
    await jobs.insert_one({"_id": "shop-1", "due_at": 1})

    async def due_shops_forever() -> None:  # the shape of the connector's sync worker
        while True:
            _ = [d async for d in jobs.find({"due_at": {"$lte": 5}}, {"_id": 1})]
            await jobs.update_one({"_id": "shop-1"}, {"$inc": {"rounds": 1}})
            await asyncio.sleep(0)

    rng = random.Random(0)
    for _ in range(STOPS):
        worker = asyncio.create_task(due_shops_forever())
        await asyncio.sleep(rng.uniform(0.001, 0.02))
        assert await cancel_and_wait(worker, within=5, every=0.05) == set()
        assert worker.cancelled()
    rounds = (await jobs.find_one({"_id": "shop-1"}) or {}).get("rounds", 0)
    assert rounds > STOPS  # the loop really ran between the stops
