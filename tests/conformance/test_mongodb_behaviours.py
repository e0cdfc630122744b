"""Every MongoDB behaviour orderlens relies on: each query operator, aggregation stage and
expression, update operator, error code and atomicity property the production code uses
(`orderlens.filters`, the stores of the four services, `orderlens.sales_store`,
`orderlens.counts_store`). A gap of the server at hand is skipped with its reason, read from
`orderlens.capabilities` (docs/decisions/0080, 0086)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import (
    ASCENDING,
    DESCENDING,
    AsyncMongoClient,
    IndexModel,
    InsertOne,
    ReplaceOne,
    ReturnDocument,
    UpdateOne,
    monitoring,
)
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from orderlens.capabilities import ServerCapabilities
from orderlens.filters import Sort, SortKey
from orderlens.indexes import create_missing_indexes, ensure_indexes
from orderlens.mongo import REPLY_BYTES, batch_size_for, find_by_ids, make_client, stream
from orderlens_query.adapters.order_reader import OrderReader, PageBounds

Doc = dict[str, Any]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


async def orders(db: AsyncDatabase[Doc]) -> AsyncCollection[Doc]:
    """Ten orders of two shops, with the field shapes of the read model."""
    collection = db["orders"]
    await collection.insert_many(
        [
            {
                "_id": f"o{i:02d}",
                "shop_id": "s1" if i % 2 else "s2",
                "status": ["AWAITING_SHIPMENT", "IN_TRANSIT", "DELIVERED", "CANCELLED"][i % 4],
                "return_status": "REQUESTED" if i == 3 else "NONE",
                "created_at": T0 + timedelta(hours=i),
                "money": {"currency": "USD" if i < 8 else "JPY", "total": 100 * i},
                "skus": [f"sku-{i % 3}", "sku-all"],
                "buyer": {"email": f"Buyer{i}@Example.com"},
                "recipient": {"postal_code": f"1{i}00"},
                "items": [{"sku_id": f"sku-{i % 3}", "quantity": 1 + i % 2}] * (1 + i % 2),
                **({"paid_at": T0 + timedelta(hours=i, minutes=5)} if i != 0 else {}),
            }
            for i in range(10)
        ]
    )
    return collection


async def ids(collection: AsyncCollection[Doc], query: Doc, **options: Any) -> list[str]:
    return [d["_id"] async for d in collection.find(query, {"_id": 1}, **options)]


# -- queries (orderlens.filters) ------------------------------------------------------------------


async def test_comparison_membership_and_logical_operators(mongo_db: AsyncDatabase[Doc]) -> None:
    c = await orders(mongo_db)
    assert len(await ids(c, {"shop_id": "s1"})) == 5
    assert sorted(await ids(c, {"status": {"$in": ["CANCELLED", "DELIVERED"]}})) == [
        "o02", "o03", "o06", "o07",
    ]  # fmt: skip
    assert await ids(c, {"money.total": {"$gte": 800, "$lt": 900}}) == ["o08"]
    assert await ids(c, {"money.total": {"$gt": 800, "$lte": 900}}) == ["o09"]
    assert len(await ids(c, {"return_status": {"$ne": "NONE"}})) == 1
    assert sorted(await ids(c, {"money.currency": {"$nin": ["USD"]}})) == ["o08", "o09"]
    either = {"$or": [{"shop_id": "s2", "money.total": {"$lt": 300}}, {"_id": "o09"}]}
    assert sorted(await ids(c, either)) == ["o00", "o02", "o09"]
    both = {"$and": [{"shop_id": "s1"}, {"created_at": {"$gte": T0 + timedelta(hours=7)}}]}
    assert sorted(await ids(c, both)) == ["o07", "o09"]


async def test_array_fields_match_by_element(mongo_db: AsyncDatabase[Doc]) -> None:
    c = await orders(mongo_db)
    assert len(await ids(c, {"skus": "sku-all"})) == 10
    assert sorted(await ids(c, {"skus": {"$in": ["sku-1"]}})) == ["o01", "o04", "o07"]


async def test_missing_field_matches_null_and_not_a_range(mongo_db: AsyncDatabase[Doc]) -> None:
    c = await orders(mongo_db)
    assert await ids(c, {"paid_at": None}) == ["o00"]
    assert "o00" not in await ids(c, {"paid_at": {"$lt": T0 + timedelta(days=9)}})


async def test_case_insensitive_anchored_and_prefix_regex(mongo_db: AsyncDatabase[Doc]) -> None:
    c = await orders(mongo_db)
    exact = {"buyer.email": {"$regex": "^buyer3@example\\.com$", "$options": "i"}}
    assert await ids(c, exact) == ["o03"]
    assert len(await ids(c, {"buyer.email": {"$regex": "example", "$options": "i"}})) == 10
    assert await ids(c, {"recipient.postal_code": {"$regex": "^150", "$options": "i"}}) == ["o05"]


async def test_compound_sort_with_id_tie_break_limit_and_keyset(
    mongo_db: AsyncDatabase[Doc],
) -> None:
    c = await orders(mongo_db)
    await c.update_many({}, {"$set": {"created_at": T0}})  # all tie: `_id` decides
    sort = [("created_at", DESCENDING), ("_id", DESCENDING)]
    first = await ids(c, {"shop_id": "s1"}, sort=sort, limit=2)
    assert first == ["o09", "o07"]
    keyset = {
        "shop_id": "s1",
        "$or": [{"created_at": {"$lt": T0}}, {"created_at": T0, "_id": {"$lt": first[-1]}}],
    }
    assert await ids(c, keyset, sort=sort, limit=2) == ["o05", "o03"]


async def test_projection_keeps_only_the_named_fields(mongo_db: AsyncDatabase[Doc]) -> None:
    c = await orders(mongo_db)
    doc = await c.find_one({"_id": "o01"}, {"shop_id": 1, "money": 1})
    assert doc == {"_id": "o01", "shop_id": "s1", "money": {"currency": "USD", "total": 100}}


async def test_max_time_ms_is_accepted_on_reads(mongo_db: AsyncDatabase[Doc]) -> None:
    c = await orders(mongo_db)
    assert len(await c.find({}).max_time_ms(5_000).to_list()) == 10
    assert await c.count_documents({"shop_id": "s2"}, maxTimeMS=5_000) == 5
    assert await c.count_documents({}, limit=3) == 3
    assert sorted(await c.distinct("shop_id")) == ["s1", "s2"]


async def test_datetimes_round_trip_to_the_millisecond_in_utc(
    mongo_db: AsyncDatabase[Doc], mongodb_uri: str
) -> None:
    client = make_client(mongodb_uri, app_name="conformance")
    try:
        c = client[mongo_db.name]["times"]
        moment = datetime(2026, 11, 1, 12, 30, 15, 123456, tzinfo=UTC)
        await c.insert_one({"_id": 1, "at": moment})
        stored = await c.find_one({"_id": 1})
        assert stored is not None
        assert stored["at"] == moment.replace(microsecond=123000)
        assert stored["at"].tzinfo is not None
    finally:
        await client.close()


# -- aggregation (query-api stats, counts, sales buckets) -----------------------------------------


async def test_group_with_several_accumulators_and_a_compound_key(
    mongo_db: AsyncDatabase[Doc],
) -> None:
    c = await orders(mongo_db)
    cursor = await c.aggregate(
        [
            {"$match": {"money.currency": "USD"}},
            {
                "$group": {
                    "_id": {"shop": "$shop_id", "currency": "$money.currency"},
                    "orders": {"$sum": 1},
                    "gross": {"$sum": "$money.total"},
                    "largest": {"$max": "$money.total"},
                }
            },
            {"$sort": {"_id.shop": 1}},
        ]
    )
    assert await cursor.to_list() == [
        {"_id": {"shop": "s1", "currency": "USD"}, "orders": 4, "gross": 1600, "largest": 700},
        {"_id": {"shop": "s2", "currency": "USD"}, "orders": 4, "gross": 1200, "largest": 600},
    ]


async def test_conditional_sum_with_ifnull_eq_and_cond(mongo_db: AsyncDatabase[Doc]) -> None:
    c = await orders(mongo_db)
    await c.update_one({"_id": "o05"}, {"$unset": {"return_status": ""}})
    no_return = {"$eq": [{"$ifNull": ["$return_status", "NONE"]}, "NONE"]}
    cursor = await c.aggregate(
        [{"$group": {"_id": None, "returns": {"$sum": {"$cond": [no_return, 0, 1]}}}}]
    )
    assert await cursor.to_list() == [{"_id": None, "returns": 1}]


async def test_unwind_project_sort_and_limit(mongo_db: AsyncDatabase[Doc]) -> None:
    c = await orders(mongo_db)
    cursor = await c.aggregate(
        [
            {"$match": {"shop_id": "s1"}},
            {"$unwind": "$items"},
            {"$group": {"_id": "$items.sku_id", "units": {"$sum": "$items.quantity"}}},
            {"$project": {"_id": 0, "sku": "$_id", "units": 1}},
            {"$sort": {"units": -1, "sku": 1}},
            {"$limit": 2},
        ]
    )
    # s1 holds o01, o03, o05, o07, o09: two items of 2 units each.
    assert await cursor.to_list() == [{"units": 8, "sku": "sku-0"}, {"units": 8, "sku": "sku-1"}]


# -- writes ---------------------------------------------------------------------------------------


async def test_upsert_with_set_inc_and_set_on_insert(mongo_db: AsyncDatabase[Doc]) -> None:
    c = mongo_db["buckets"]
    first = await c.update_one(
        {"_id": "b1"}, {"$set": {"n": 1}, "$inc": {"gen": 1}, "$setOnInsert": {"shop": "s1"}},
        upsert=True,
    )  # fmt: skip
    assert (first.matched_count, first.upserted_id) == (0, "b1")
    second = await c.update_one(
        {"_id": "b1"}, {"$set": {"n": 2}, "$inc": {"gen": 1}, "$setOnInsert": {"shop": "s9"}},
        upsert=True,
    )  # fmt: skip
    assert (second.matched_count, second.upserted_id) == (1, None)
    assert await c.find_one({"_id": "b1"}) == {"_id": "b1", "n": 2, "gen": 2, "shop": "s1"}


async def test_max_update_never_lowers_a_field(mongo_db: AsyncDatabase[Doc]) -> None:
    c = mongo_db["exports"]
    await c.insert_one({"_id": "e1", "rows": 10, "progress": 0.5})
    await c.update_one({"_id": "e1"}, {"$max": {"rows": 4, "progress": 0.7}})
    assert await c.find_one({"_id": "e1"}) == {"_id": "e1", "rows": 10, "progress": 0.7}


async def test_duplicate_key_error_code_11000(mongo_db: AsyncDatabase[Doc]) -> None:
    c = mongo_db["claims"]
    await c.insert_one({"_id": "x"})
    with pytest.raises(DuplicateKeyError) as raised:
        await c.insert_one({"_id": "x"})
    assert raised.value.code == 11000
    await create_missing_indexes(c, [IndexModel([("key", ASCENDING)], unique=True, name="key")])
    await c.insert_one({"_id": "y", "key": 1})
    with pytest.raises(DuplicateKeyError):
        await c.insert_one({"_id": "z", "key": 1})


async def test_unordered_bulk_write_applies_the_rest_and_names_each_duplicate(
    mongo_db: AsyncDatabase[Doc],
) -> None:
    c = mongo_db["orders"]
    await c.insert_one({"_id": "dup", "v": 0})
    ops: list[InsertOne[Doc] | UpdateOne] = [
        InsertOne({"_id": "a", "v": 1}),
        InsertOne({"_id": "dup", "v": 1}),
        UpdateOne({"_id": "dup", "v": 0}, {"$set": {"v": 2}}),
        InsertOne({"_id": "b", "v": 1}),
    ]
    with pytest.raises(BulkWriteError) as raised:
        await c.bulk_write(ops, ordered=False)
    errors = raised.value.details["writeErrors"]
    assert [(e["index"], e["code"]) for e in errors] == [(1, 11000)]
    assert sorted(await c.distinct("_id")) == ["a", "b", "dup"]
    assert (await c.find_one({"_id": "dup"}) or {})["v"] == 2


async def test_bulk_write_of_natural_size(mongo_db: AsyncDatabase[Doc]) -> None:
    """order-ingest writes a whole batch (up to 2,000 orders) in one bulk_write (0085)."""
    c = mongo_db["orders"]
    await c.insert_many([{"_id": i, "version": 1} for i in range(2_000)])
    ops = [UpdateOne({"_id": i, "version": 1}, {"$set": {"version": 2}}) for i in range(2_000)]
    result = await c.bulk_write(ops, ordered=False)
    assert result.modified_count == 2_000
    assert await c.count_documents({"version": 2}) == 2_000


async def test_delete_many_and_delete_one_by_filter(mongo_db: AsyncDatabase[Doc]) -> None:
    c = mongo_db["claims"]
    await c.insert_many([{"_id": f"e1#{i}"} for i in range(3)] + [{"_id": "e2#0"}])
    deleted = await c.delete_many({"_id": {"$regex": "^e1#"}})
    assert deleted.deleted_count == 3
    assert (await c.delete_one({"_id": "e2#0"})).deleted_count == 1


async def test_retryable_writes_are_accepted(
    mongo_db: AsyncDatabase[Doc], mongodb_uri: str
) -> None:
    client = make_client(mongodb_uri, app_name="conformance")  # retryWrites=True
    try:
        c = client[mongo_db.name]["retry"]
        await c.insert_one({"_id": 1})
        assert (await c.update_one({"_id": 1}, {"$set": {"x": 1}})).modified_count == 1
    finally:
        await client.close()


# -- atomicity: leases, claims, slots (find_one_and_update with a version guard) ------------------


async def test_find_one_and_update_with_a_guard_answers_the_new_document_or_none(
    mongo_db: AsyncDatabase[Doc],
) -> None:
    c = mongo_db["leases"]
    await c.insert_one({"_id": "shard-0", "owner": None, "gen": 0})
    taken = await c.find_one_and_update(
        {"_id": "shard-0", "gen": 0},
        {"$set": {"owner": "a"}, "$inc": {"gen": 1}},
        return_document=ReturnDocument.AFTER,
    )
    assert taken == {"_id": "shard-0", "owner": "a", "gen": 1}
    lost = await c.find_one_and_update(
        {"_id": "shard-0", "gen": 0}, {"$set": {"owner": "b"}, "$inc": {"gen": 1}}
    )
    assert lost is None


async def test_racing_guarded_updates_elect_exactly_one_winner(
    mongo_db: AsyncDatabase[Doc], capabilities: ServerCapabilities
) -> None:
    if not capabilities.atomic_conditional_updates:
        pytest.skip("this server reads, then writes a conditional update (docs/decisions/0034)")
    c = mongo_db["leases"]
    for round_ in range(20):
        await c.insert_one({"_id": round_, "version": 1})

        async def take(owner: int, key: int = round_) -> bool:
            won = await c.find_one_and_update(
                {"_id": key, "version": 1}, {"$set": {"owner": owner}, "$inc": {"version": 1}}
            )
            return won is not None

        winners = await asyncio.gather(*(take(owner) for owner in range(8)))
        assert sum(winners) == 1, f"round {round_}: {sum(winners)} winners"
        assert (await c.find_one({"_id": round_}) or {})["version"] == 2


async def test_version_guarded_writes_on_the_indexes_the_server_is_given(
    mongo_db: AsyncDatabase[Doc], capabilities: ServerCapabilities
) -> None:
    """order-ingest's guarded replace `{_id, version}` (docs/decisions/0140), on the indexes
    `ensure_indexes` gives this server: the unique `{_id, version}` guard index where the `_id`
    index does not serve the guard. Writes that move the version are accepted (no duplicate
    key), a stale version matches nothing, and of racing writers exactly one wins."""
    if not capabilities.atomic_conditional_updates:
        pytest.skip("this server reads, then writes a conditional update (docs/decisions/0034)")
    await ensure_indexes(mongo_db, capabilities)
    c = mongo_db["orders"]
    names = {index["name"] async for index in await c.list_indexes()}
    assert ("id_version" in names) is not capabilities.id_index_serves_compound_filters
    await c.insert_many([{"_id": f"o{i}", "version": 1, "n": 0} for i in range(50)])
    for version in range(1, 4):
        ops = [
            ReplaceOne({"_id": f"o{i}", "version": version}, {"version": version + 1, "n": i})
            for i in range(50)
        ]
        assert (await c.bulk_write(ops, ordered=False)).matched_count == 50
    stale = await c.replace_one({"_id": "o0", "version": 1}, {"version": 2, "n": -1})
    assert stale.matched_count == 0
    assert await c.find_one({"_id": "o0"}) == {"_id": "o0", "version": 4, "n": 0}

    async def write(writer: int) -> int:
        result = await c.replace_one({"_id": "o1", "version": 4}, {"version": 5, "n": writer})
        return result.matched_count

    assert sum(await asyncio.gather(*(write(w) for w in range(8)))) == 1
    if capabilities.explain:
        plan = await c.find({"_id": "o2", "version": 4}).explain()
        assert "_id_" in str(plan["queryPlanner"]["winningPlan"]) or "IDHACK" in str(plan)


async def test_reads_by_many_ids_answer_each_stored_id_once_in_chunks_or_not(
    mongo_db: AsyncDatabase[Doc], capabilities: ServerCapabilities
) -> None:
    """`orderlens.mongo.find_by_ids` (docs/decisions/0143): `_id: {$in}` over more ids than one
    chunk, duplicates and absent ids included, in this server's chunk size and in one read."""
    c = mongo_db["orders"]
    await c.insert_many([{"_id": f"o{i:04d}", "n": i} for i in range(700)])
    wanted = [f"o{i:04d}" for i in range(0, 1400, 2)] + ["o0000", "o0002"]
    present = {f"o{i:04d}" for i in range(0, 700, 2)}
    for chunk in (capabilities.id_list_chunk, None, 7):
        found = [d["_id"] async for d in find_by_ids(c, wanted, {"_id": 1}, chunk=chunk)]
        assert sorted(found) == sorted(present), chunk


class _Batches(monitoring.CommandListener):
    """The number of documents in each reply to a find or getMore."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name in ("find", "getMore"):
            cursor = event.reply["cursor"]
            self.sizes.append(len(cursor.get("firstBatch", cursor.get("nextBatch", []))))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_a_streamed_read_answers_in_replies_of_at_most_its_batch_size(
    mongo_db: AsyncDatabase[Doc], mongodb_uri: str
) -> None:
    """`orderlens.mongo.stream` (docs/decisions/0220): the server keeps to the batch size a find
    names, in its first reply and every getMore. (Without one, mongo-java-server sends every
    matching document in one reply; MongoDB 101 documents, then 16 MiB per reply.)"""
    await mongo_db["orders"].insert_many([{"_id": f"o{i:04d}", "n": i} for i in range(250)])
    listener = _Batches()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb_uri, event_listeners=[listener])
    try:
        c = client[mongo_db.name]["orders"]
        assert batch_size_for(REPLY_BYTES // 100) == 100
        found = [d["n"] async for d in stream(c, {}, document_bytes=REPLY_BYTES // 100)]
    finally:
        await client.close()
    assert sorted(found) == list(range(250))
    assert max(listener.sizes) == 100
    assert sum(listener.sizes) == 250


# -- indexes --------------------------------------------------------------------------------------


async def test_creating_existing_indexes_again_is_a_no_op(mongo_db: AsyncDatabase[Doc]) -> None:
    c = mongo_db["orders"]
    models = [
        IndexModel([("shop_id", ASCENDING), ("created_at", DESCENDING)], name="shop_created"),
        IndexModel([("skus", ASCENDING)], name="skus"),
    ]
    assert sorted(await create_missing_indexes(c, models)) == ["shop_created", "skus"]
    assert await create_missing_indexes(c, models) == []
    await c.create_indexes(models)  # the plain command too, as another replica might send it
    names = {index["name"] async for index in await c.list_indexes()}
    assert {"_id_", "shop_created", "skus"} <= names


async def test_explain_names_the_index_that_serves_a_query(
    mongo_db: AsyncDatabase[Doc], capabilities: ServerCapabilities
) -> None:
    if not capabilities.explain:
        pytest.skip("this server has no explain command (mongo-java-server: docs/decisions/0080)")
    c = await orders(mongo_db)
    await create_missing_indexes(
        c, [IndexModel([("shop_id", ASCENDING), ("created_at", DESCENDING)], name="shop_created")]
    )
    plan = await c.find({"shop_id": "s1"}).sort("created_at", DESCENDING).explain()
    assert "shop_created" in str(plan["queryPlanner"]["winningPlan"])


# -- the order list's learned bounds (docs/decisions/0200) ----------------------------------------


async def test_pages_narrowed_by_a_learned_bound_are_the_plain_pages(
    mongo_db: AsyncDatabase[Doc],
) -> None:
    """Where the server sorts every match, query-api reads a newest-first page again with
    `$and: [{field: {$gte: bound}}, query]`; the answer must be the plain read's, whatever
    happened to the orders since the bound was learned (ties at the bound included)."""
    c = mongo_db["orders"]
    await c.insert_many(
        [
            {
                "_id": f"o{i:03d}",
                "shop_id": "s1" if i % 3 else "s2",
                "created_at": T0 + timedelta(minutes=i // 4),  # four orders per minute: ties
                "money": {"total": 10 * (i % 17)},
            }
            for i in range(200)
        ]
    )
    bounds = PageBounds()
    narrowed = OrderReader(mongo_db, max_time_ms=10_000, page_bounds=bounds)
    plain = OrderReader(mongo_db, max_time_ms=10_000)
    query: Doc = {"shop_id": {"$in": ["s1"]}}
    projection = {"shop_id": 1, "created_at": 1, "money": 1}

    async def same_page(sort: Sort, limit: int = 11) -> None:
        got = await narrowed.page(query, sort, limit, projection)
        want = await plain.page(query, sort, limit, projection)
        assert [d["_id"] for d in got] == [d["_id"] for d in want]

    for sort in (Sort(), Sort(SortKey.TOTAL, descending=True)):
        await same_page(sort)  # learns the bound
        await same_page(sort)  # read through it
        await c.insert_one(
            {
                "_id": f"n-{sort}",
                "shop_id": "s1",
                "created_at": T0 + timedelta(days=1),
                "money": {"total": 1_000},
            }
        )
        await same_page(sort)  # a newer order is inside the bound
        newest = await plain.page(query, sort, 5, projection)
        await c.delete_many({"_id": {"$in": [d["_id"] for d in newest]}})
        await same_page(sort)  # too few left above the bound: read again without it
        await same_page(sort)
