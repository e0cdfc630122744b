"""The aggregation expressions and bounded reads of query-api's stats and the sales buckets
(`orderlens_query.services.order_stats`, `orderlens.sales_store`, docs/decisions/0087), and the TTL
index of the idempotency keys. Not relied on, hence not tested: projecting `items.<field>` of an
array before `$unwind` (mongo-java-server 1.47 answers an object of arrays; the stats project
`items`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.indexes import create_missing_indexes

Doc = dict[str, Any]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


async def _orders(db: AsyncDatabase[Doc]) -> None:
    await db["orders"].insert_many(
        [
            {
                "_id": f"o{i}",
                "status": "CANCELLED" if i % 3 == 0 else "DELIVERED",
                "paid_at": T0 + timedelta(days=i),
                "recipient": {"country_code": "US" if i % 2 else "GB", "state": f"S{i % 2}"},
                "money": {"currency": "USD", "total": 100 + i},
            }
            for i in range(6)
        ]
    )


async def test_group_key_with_a_comparison_expression_and_a_literal_null(
    mongo_db: AsyncDatabase[Doc],
) -> None:
    await _orders(mongo_db)
    cursor = await mongo_db["orders"].aggregate(
        [
            {
                "$group": {
                    "_id": {
                        "country": "$recipient.country_code",
                        "state": None,
                        "late": {"$gte": ["$paid_at", T0 + timedelta(days=3)]},
                    },
                    "orders": {"$sum": 1},
                }
            }
        ]
    )
    rows = {
        (r["_id"]["country"], r["_id"]["state"], r["_id"]["late"]): r["orders"]
        async for r in cursor
    }
    assert rows == {
        ("GB", None, False): 2,  # o0, o2
        ("US", None, False): 1,  # o1
        ("GB", None, True): 1,  # o4
        ("US", None, True): 2,  # o3, o5
    }


async def test_conditional_sum_on_membership_in_a_list(mongo_db: AsyncDatabase[Doc]) -> None:
    await _orders(mongo_db)
    cancelled = {"$in": ["$status", ["CANCELLED"]]}
    cursor = await mongo_db["orders"].aggregate(
        [
            {
                "$group": {
                    "_id": "$money.currency",
                    "cancelled": {"$sum": {"$cond": [cancelled, 1, 0]}},
                    "cancelled_gross": {"$sum": {"$cond": [cancelled, "$money.total", 0]}},
                }
            }
        ]
    )
    assert await cursor.to_list() == [{"_id": "USD", "cancelled": 2, "cancelled_gross": 203}]


async def test_limit_before_group_caps_the_orders_counted(mongo_db: AsyncDatabase[Doc]) -> None:
    await _orders(mongo_db)
    cursor = await mongo_db["orders"].aggregate(
        [{"$match": {}}, {"$limit": 4}, {"$group": {"_id": None, "n": {"$sum": 1}}}]
    )
    assert await cursor.to_list() == [{"_id": None, "n": 4}]


async def test_count_documents_with_a_limit_stops_there(mongo_db: AsyncDatabase[Doc]) -> None:
    await _orders(mongo_db)
    orders = mongo_db["orders"]
    assert await orders.count_documents({}, limit=4) == 4
    assert await orders.count_documents({"status": "CANCELLED"}, limit=4) == 2


async def test_a_ttl_index_is_created_once(mongo_db: AsyncDatabase[Doc]) -> None:
    keys = mongo_db["idempotency_keys"]
    ttl = IndexModel("created_at", expireAfterSeconds=3600, name="ttl_created_at")
    assert await create_missing_indexes(keys, [ttl]) == ["ttl_created_at"]
    assert await create_missing_indexes(keys, [ttl]) == []
    info = await keys.index_information()
    assert info["ttl_created_at"]["expireAfterSeconds"] == 3600
