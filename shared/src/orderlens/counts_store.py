"""The tab counts read model (collection `order_counts`): per shop, orders per status and in the
returns view, kept by order-ingest so that `GET /v1/orders/counts` reads one document per shop
instead of counting the orders (docs/decisions/0082).

Kept by deltas, so that a batch costs writes by `_id` only, never a count over the shop's orders
(docs/decisions/0135): each order write that order-ingest makes, guarded by the version it read,
moves the order from one (status, in returns) pair to another, and the writer adds exactly that
move to the shop's document. A redelivered event changes no order, hence adds nothing. A crash
between the order write and the `$inc` is covered by an announcement, as for the sales buckets
(0036):

    await begin(db, shops)           # pending += 1, before writing the orders
    ... write the orders ...
    await apply(db, shops, deltas)   # add the moves of the writes that happened, pending -= 1

and `repair(db)` (at start-up) recomputes, with `recompute`, every shop a crashed writer left
pending. `recompute` (one `$group` over the shops' orders, written and verified) also builds the
model once for orders stored before it existed (`ensure_built`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.domain.status import OrderStatus, ReturnStatus
from orderlens.mongo import Document

COLLECTION = "order_counts"
ORDERS = "orders"
_ROUNDS = 10
#: Marks a database whose counts were built from every stored order once (`ensure_built`):
#: from then on a shop without a counts document has no orders.
_BUILT = "$built"
_NONE = ReturnStatus.NONE.value
_NO_RETURN = {"$eq": [{"$ifNull": ["$return_status", _NONE]}, _NONE]}


class CountsContention(TimeoutError):
    """Writers keep changing a shop's orders while its counts are recomputed (retry)."""


#: Where an order counts: its shop, its status, whether it is in the returns view.
Slot = tuple[str, str, bool]


def slot_of(shop_id: str, status: str, return_status: str | None) -> Slot:
    return (shop_id, status, (return_status or _NONE) != _NONE)


def deltas(moves: Iterable[tuple[Slot | None, Slot]]) -> dict[str, Counter[str]]:
    """Per shop, what these order writes (slot before, None for a new order; slot after) add:
    `by_status.<status>` and `returns` increments, zero ones left out."""
    result: dict[str, Counter[str]] = {}
    for before, after in moves:
        for slot, sign in ((before, -1), (after, +1)):
            if slot is None:
                continue
            counter = result.setdefault(slot[0], Counter())
            counter[f"by_status.{slot[1]}"] += sign
            if slot[2]:
                counter["returns"] += sign
    return {
        shop: Counter({k: n for k, n in c.items() if n}) for shop, c in result.items() if +c or -c
    }


async def begin(db: AsyncDatabase[Document], shop_ids: Iterable[str]) -> None:
    """Announce changes to these shops' counts, before writing their orders (creates a shop's
    document with zero counts)."""
    ops = [
        UpdateOne(
            {"_id": shop},
            {"$inc": {"pending": 1}, "$setOnInsert": {**_empty(), "gen": 0}},
            upsert=True,
        )
        for shop in sorted(set(shop_ids))
    ]
    if ops:
        await db[COLLECTION].bulk_write(ops, ordered=False)


async def apply(
    db: AsyncDatabase[Document], shop_ids: Iterable[str], moved: Mapping[str, Counter[str]]
) -> None:
    """After writing the orders: add the moves of the writes that happened to the shops
    announced with `begin`, and withdraw the announcements (one update per shop)."""
    ops = [
        UpdateOne({"_id": shop}, {"$inc": {**moved.get(shop, {}), "pending": -1, "gen": 1}})
        for shop in sorted(set(shop_ids))
    ]
    if ops:
        await db[COLLECTION].bulk_write(ops, ordered=False)


async def repair(db: AsyncDatabase[Document], limit: int = 10_000) -> int:
    """At start-up: recompute the shops a crashed writer left pending, then clear their count
    (guarded by the count read, so an announcement made meanwhile stays)."""
    found: list[tuple[str, int]] = []
    async for doc in db[COLLECTION].find({"pending": {"$gt": 0}}, {"pending": 1}, limit=limit):
        found.append((str(doc["_id"]), int(doc["pending"])))
    if not found:
        return 0
    await recompute(db, [shop for shop, _ in found])
    ops = [
        UpdateOne({"_id": shop, "pending": count}, {"$set": {"pending": 0}})
        for shop, count in found
    ]
    await db[COLLECTION].bulk_write(ops, ordered=False)
    return len(found)


def _empty() -> dict[str, Any]:
    return {"by_status": {s.value: 0 for s in OrderStatus}, "returns": 0}


async def count_orders(db: AsyncDatabase[Document], shop_ids: Collection[str]) -> dict[str, Any]:
    """Counts of these shops' orders from the orders themselves: one `$group` (the writer's
    recompute, and the reference the read model is checked against)."""
    result = {shop: _empty() for shop in shop_ids}
    if not shop_ids:
        return result
    pipeline: list[dict[str, Any]] = [
        {"$match": {"shop_id": {"$in": sorted(shop_ids)}}},
        {
            "$group": {
                "_id": {"shop": "$shop_id", "status": "$status"},
                "n": {"$sum": 1},
                "returns": {"$sum": {"$cond": [_NO_RETURN, 0, 1]}},
            }
        },
    ]
    cursor = await db[ORDERS].aggregate(pipeline)
    async for row in cursor:
        counts = result[row["_id"]["shop"]]
        status = row["_id"]["status"]
        counts["by_status"][status] = counts["by_status"].get(status, 0) + int(row["n"])
        counts["returns"] += int(row["returns"])
    return result


def _stored(doc: Document | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    return {"by_status": doc.get("by_status", {}), "returns": doc.get("returns", 0)}


async def recompute(db: AsyncDatabase[Document], shop_ids: Iterable[str]) -> int:
    """Make these shops' counts equal to what their orders say; answer the writes it took.

    Raises `CountsContention` when other writers keep changing the shops' orders for
    `_ROUNDS` rounds (transient: the batch is retried)."""
    shops = sorted(set(shop_ids))
    written = 0
    for _ in range(_ROUNDS):
        if not shops:
            return written
        stored = {
            doc["_id"]: _stored(doc) async for doc in db[COLLECTION].find({"_id": {"$in": shops}})
        }
        counts = await count_orders(db, shops)
        changed = [shop for shop in shops if stored.get(shop) != counts[shop]]
        if not changed:
            return written
        ops = [
            UpdateOne({"_id": shop}, {"$set": counts[shop], "$inc": {"gen": 1}}, upsert=True)
            for shop in changed
        ]
        await db[COLLECTION].bulk_write(ops, ordered=False)
        written += len(ops)
        # Verify what we wrote: another writer may have written orders after our count.
        shops = changed
    raise CountsContention(f"order counts still changing after {_ROUNDS} rounds")


async def read_each(db: AsyncDatabase[Document], shop_ids: Collection[str]) -> dict[str, Any]:
    """The stored counts per shop (a shop without a document: all zero)."""
    result = {shop: _empty() for shop in shop_ids}
    async for doc in db[COLLECTION].find({"_id": {"$in": sorted(shop_ids)}}):
        stored = _stored(doc)
        assert stored is not None
        result[doc["_id"]] = stored
    return result


async def ensure_built(db: AsyncDatabase[Document]) -> int:
    """At order-ingest's start-up: build the counts of every shop from the stored orders once
    (a database filled before the read model existed); answer the shops written."""
    if await db[COLLECTION].find_one({"_id": _BUILT}) is not None:
        return 0
    shops = [s for s in await db[ORDERS].distinct("shop_id") if isinstance(s, str)]
    written = await recompute(db, shops)
    await db[COLLECTION].update_one({"_id": _BUILT}, {"$set": {"shops": len(shops)}}, upsert=True)
    return written


async def read(db: AsyncDatabase[Document], shop_ids: Collection[str]) -> dict[str, Any] | None:
    """The summed counts of these shops, or None before `ensure_built` has run (the caller
    then counts the orders instead)."""
    total = _empty()
    built = False
    async for doc in db[COLLECTION].find({"_id": {"$in": [*sorted(shop_ids), _BUILT]}}):
        if doc["_id"] == _BUILT:
            built = True
            continue
        for status, n in doc.get("by_status", {}).items():
            total["by_status"][status] = total["by_status"].get(status, 0) + int(n)
        total["returns"] += int(doc.get("returns", 0))
    return total if built else None
