"""Keeping the sales read model (`orderlens.domain.sales`) exact under redelivery, crashes and
concurrent writers, with single-document atomic updates only (no transactions).

`recompute(db, keys)` sums each bucket's orders again and writes the figures that differ, then
reads again and repeats until what is stored matches what the orders say. The last writer of a
bucket therefore always verified it after its write, so concurrent writers cannot leave a stale
figure behind (no lost update), and recomputing is idempotent.

order-ingest keeps the buckets by deltas (docs/decisions/0141), as it keeps the tab counts
(0135): each of its order writes is guarded by the version it read, so it moves the order's
figures out of one bucket and into another exactly once, and the writer adds exactly that move
after announcing it:

    await begin(db, keys)              # pending += 1, before writing the orders
    ... write the orders ...
    await apply(db, keys, deltas(...)) # $inc the moves of the writes that matched, pending -= 1

A redelivered event writes nothing, hence adds nothing; a crash between the order write and
`apply` leaves the bucket pending, and `repair(db)` (at start-up) recomputes every pending bucket
with `recompute`. No `$group` runs per batch: on mongo-java-server it was a scan of `orders` per
batch (0136).

The sums are one `$group` over the buckets' orders in the database (docs/decisions/0087).
`rebuild_all` recomputes every bucket from the orders (for tests and repairs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from orderlens.domain.sales import COLLECTION, bucket_id, bucket_start, counts_as_cancelled
from orderlens.domain.status import OrderStatus
from orderlens.mongo import Document, stream

ORDERS = "orders"
_DUPLICATE_KEY = 11000
_ROUNDS = 10
#: Buckets per `recompute` round trip (a reply of ~2,000 rows is ~0.4 MB).
RECOMPUTE_CHUNK = 2_000
# A bucket document (its key and five figures), or an order projected to a bucket's key,
# generously.
_KEY_BYTES = 1024

BucketKey = tuple[str, str, datetime]  # shop id, currency, bucket start (UTC)

FIGURES = ("orders", "units", "gross", "cancelled", "cancelled_gross")
_CANCELLED = sorted(status.value for status in OrderStatus if counts_as_cancelled(status))


class BucketContention(TimeoutError):
    """Writers keep changing a bucket's orders while it is recomputed (transient: retry)."""


def key_of(shop_id: str, currency: str, paid_at: datetime | None) -> BucketKey | None:
    """The bucket an order counts in, or None when it is not paid."""
    if paid_at is None:
        return None
    return (shop_id, currency, bucket_start(paid_at))


def _id(key: BucketKey) -> str:
    return bucket_id(*key)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _identity(key: BucketKey) -> dict[str, Any]:
    return {"shop_id": key[0], "currency": key[1], "start": key[2]}


def figures_of(doc: dict[str, Any]) -> dict[str, int]:
    """The figures of a stored bucket document."""
    return {name: int(doc.get(name, 0)) for name in FIGURES}


#: One order's part of its bucket: the bucket, and the figures it adds there.
Share = tuple[BucketKey, dict[str, int]]


def share_of(
    shop_id: str, currency: str, paid_at: datetime | None, status: str, total: int, units: int
) -> Share | None:
    """What one order adds to its bucket, as `_sums` counts it (None when it is not paid)."""
    key = key_of(shop_id, currency, paid_at)
    if key is None:
        return None
    cancelled = status in _CANCELLED
    figures = {
        "orders": 1,
        "units": units,
        "gross": total,
        "cancelled": int(cancelled),
        "cancelled_gross": total if cancelled else 0,
    }
    return key, figures


def deltas(moves: Iterable[tuple[Share | None, Share | None]]) -> dict[BucketKey, Counter[str]]:
    """Per bucket, what these order writes (share before, share after; None where the order was
    new or is not paid) add to its figures, zero ones left out."""
    result: dict[BucketKey, Counter[str]] = {}
    for before, after in moves:
        for share, sign in ((before, -1), (after, +1)):
            if share is None:
                continue
            counter = result.setdefault(share[0], Counter())
            for name, value in share[1].items():
                counter[name] += sign * value
    return {key: Counter({k: n for k, n in c.items() if n}) for key, c in result.items()}


async def apply(
    db: AsyncDatabase[Document],
    keys: Iterable[BucketKey],
    moved: dict[BucketKey, Counter[str]],
) -> None:
    """After writing the orders: add the moves of the writes that happened to the buckets
    announced with `begin` (each once), and withdraw the announcements (one update per bucket)."""
    ops = [
        UpdateOne(
            {"_id": _id(key)},
            {
                "$inc": {
                    **moved.get(key, {}),
                    "pending": -1,
                    **({"gen": 1} if moved.get(key) else {}),
                }
            },
        )
        for key in sorted(set(keys))
    ]
    if ops:
        await db[COLLECTION].bulk_write(ops, ordered=False)


async def begin(db: AsyncDatabase[Document], keys: Iterable[BucketKey]) -> None:
    """Announce a change to these buckets, before writing the orders."""
    await _pending(db, Counter(set(keys)), +1)


async def _pending(db: AsyncDatabase[Document], counts: Counter[BucketKey], sign: int) -> None:
    ops = [
        UpdateOne(
            {"_id": _id(key)},
            {
                "$inc": {"pending": sign * counts[key]},
                "$setOnInsert": {**_identity(key), **dict.fromkeys(FIGURES, 0), "gen": 0},
            },
            upsert=True,
        )
        for key in sorted(counts)
    ]
    if ops:
        await db[COLLECTION].bulk_write(ops, ordered=False)


async def _sums(
    db: AsyncDatabase[Document], keys: list[BucketKey]
) -> dict[BucketKey, dict[str, int]]:
    wanted = set(keys)
    sums: dict[BucketKey, dict[str, int]] = {key: dict.fromkeys(FIGURES, 0) for key in keys}
    cancelled = {"$in": ["$status", _CANCELLED]}
    pipeline: list[dict[str, Any]] = [
        {
            "$match": {
                "paid_bucket": {"$in": sorted({key[2] for key in keys})},
                "shop_id": {"$in": sorted({key[0] for key in keys})},
            }
        },
        {
            "$group": {
                "_id": {
                    "shop_id": "$shop_id",
                    "currency": "$money.currency",
                    "bucket": "$paid_bucket",
                },
                "orders": {"$sum": 1},
                "units": {"$sum": "$units"},
                "gross": {"$sum": "$money.total"},
                "cancelled": {"$sum": {"$cond": [cancelled, 1, 0]}},
                "cancelled_gross": {"$sum": {"$cond": [cancelled, "$money.total", 0]}},
            }
        },
    ]
    async for row in await db[ORDERS].aggregate(pipeline):
        group = row["_id"]
        key = (group["shop_id"], group["currency"], _utc(group["bucket"]))
        if key in wanted:
            sums[key] = {name: int(row[name]) for name in FIGURES}
    return sums


async def recompute(db: AsyncDatabase[Document], keys: Iterable[BucketKey]) -> int:
    """Make these buckets' figures equal to sums over their orders; answer how many writes it took.

    Call it after writing the orders. Raises `BucketContention` if other writers keep changing
    the buckets' orders for `_ROUNDS` rounds (a transient condition: retry the batch).

    In chunks of `RECOMPUTE_CHUNK` buckets: `_sums` answers one row per bucket, and
    mongo-java-server sends an aggregate's rows in one reply whatever the batch size, which
    PyMongo refuses over 48 MB (~300,000 buckets for `rebuild_all`, docs/decisions/0220)."""
    unique = sorted(set(keys))
    written = 0
    for start in range(0, len(unique), RECOMPUTE_CHUNK):
        written += await _recompute_chunk(db, unique[start : start + RECOMPUTE_CHUNK])
    return written


async def _recompute_chunk(db: AsyncDatabase[Document], unique: list[BucketKey]) -> int:
    written = 0
    for _ in range(_ROUNDS):
        if not unique:
            return written
        stored: dict[str, Document] = {}
        # `rebuild_all` asks for every bucket: streamed (docs/decisions/0220).
        buckets = stream(
            db[COLLECTION], {"_id": {"$in": [_id(k) for k in unique]}}, document_bytes=_KEY_BYTES
        )
        async for found in buckets:
            stored[found["_id"]] = found
        sums = await _sums(db, unique)
        ops: list[InsertOne[Document] | UpdateOne] = []
        changed: list[BucketKey] = []
        for key in unique:
            doc = stored.get(_id(key))
            if doc is None or figures_of(doc) != sums[key]:
                changed.append(key)
            if doc is None:
                ops.append(
                    InsertOne(
                        {"_id": _id(key), **_identity(key), **sums[key], "gen": 1, "pending": 0}
                    )
                )
            elif figures_of(doc) != sums[key]:
                ops.append(UpdateOne({"_id": _id(key)}, {"$set": sums[key], "$inc": {"gen": 1}}))
        if not ops:
            return written
        try:
            await db[COLLECTION].bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            details: Any = exc.details
            if any(e.get("code") != _DUPLICATE_KEY for e in details.get("writeErrors", [])):
                raise
            # Another writer created the bucket first: the next round compares with it.
        written += len(ops)
        # Verify what we wrote: another writer may have written orders after our sums.
        unique = changed
    raise BucketContention(f"sales buckets still changing after {_ROUNDS} rounds")


async def repair(db: AsyncDatabase[Document], limit: int = 10_000) -> int:
    """Recompute the buckets a crashed writer left pending, then clear their count."""
    found: list[tuple[BucketKey, int]] = []
    async for doc in db[COLLECTION].find({"pending": {"$gt": 0}}, limit=limit):
        key = (doc["shop_id"], doc["currency"], _utc(doc["start"]))
        found.append((key, int(doc["pending"])))
    if not found:
        return 0
    await recompute(db, [key for key, _ in found])
    ops = [
        UpdateOne({"_id": _id(key), "pending": count}, {"$set": {"pending": 0}})
        for key, count in found
    ]
    await db[COLLECTION].bulk_write(ops, ordered=False)
    return len(found)


async def rebuild_all(db: AsyncDatabase[Document]) -> int:
    """Recompute every bucket that has paid orders or a stored document."""
    keys: set[BucketKey] = set()
    # Every paid order and every bucket: streamed (docs/decisions/0220).
    cursor = stream(
        db[ORDERS],
        {"paid_bucket": {"$ne": None}},
        {"shop_id": 1, "money.currency": 1, "paid_bucket": 1},
        document_bytes=_KEY_BYTES,
    )
    async for doc in cursor:
        if doc.get("paid_bucket") is not None:
            keys.add((doc["shop_id"], doc["money"]["currency"], _utc(doc["paid_bucket"])))
    buckets = stream(
        db[COLLECTION], {}, {"shop_id": 1, "currency": 1, "start": 1}, document_bytes=_KEY_BYTES
    )
    async for doc in buckets:
        keys.add((doc["shop_id"], doc["currency"], _utc(doc["start"])))
    return await recompute(db, keys)
