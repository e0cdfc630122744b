"""Parked status events written by a newer order-ingest (docs/decisions/0190): this version
still folds them into their order when it arrives, instead of dead-lettering the order."""

from __future__ import annotations

from typing import Any

from ing_support import Publisher, StartIngest, seed
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.waiting import wait_for
from orderlens_devtools.seed import created_event, status_events

Doc = dict[str, Any]


async def test_a_parked_event_with_fields_this_version_does_not_know_is_folded(
    start_ingest: StartIngest, publisher: Publisher, mongo_db: AsyncDatabase[Doc]
) -> None:
    (seed_order,) = [o for o in seed(30, seed=31) if len(o.steps) >= 2][:1]
    first = next(status_events(seed_order))
    await start_ingest()
    await publisher.events([first])

    async def parked() -> bool:
        return await mongo_db.parked_status_events.count_documents({"_id": first.id}) == 1

    await wait_for(parked, 30, "the status change parked")
    # As a newer version would have parked it: fields this one has never heard of.
    await mongo_db.parked_status_events.update_one(
        {"_id": first.id},
        {"$set": {"event.channel": "tiktok-webhook", "parked_by": "ingest-v9", "attempts": 2}},
    )

    await publisher.events([created_event(seed_order)])

    async def folded() -> bool:
        doc = await mongo_db.orders.find_one({"_id": seed_order.order_id})
        return doc is not None and [h["event_id"] for h in doc["history"]] == [first.id]

    await wait_for(folded, 30, "the parked change folded into its order")

    async def unparked() -> bool:
        return await mongo_db.parked_status_events.count_documents({}) == 0

    await wait_for(unparked, 30, "the parked change removed once folded")
    doc = await mongo_db.orders.find_one({"_id": seed_order.order_id})
    assert doc is not None
    assert doc["status"] == first.data.status.value
