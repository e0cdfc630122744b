"""The real servers the suite runs against: a Kafka broker and a MongoDB-wire server."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import ASCENDING, AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from orderlens_devtools.devstack import MongoServer, TopicNames, ensure_topics


async def test_kafka_keyed_messages_roundtrip(
    kafka_bootstrap_servers: str, topic_names: TopicNames, unique_id: str
) -> None:
    topic = topic_names.created
    keys = [f"order-{i}" for i in range(12)]
    sent: dict[str, list[str]] = defaultdict(list)

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for seq in range(5):
            for key in keys:
                value = f"{key}:{seq}"
                await producer.send(topic, key=key.encode(), value=value.encode())
                sent[key].append(value)
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap_servers,
        group_id=f"test-{unique_id}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: dict[str, list[str]] = defaultdict(list)
    partitions_by_key: dict[str, set[int]] = defaultdict(set)
    try:
        async with asyncio.timeout(60):
            while sum(len(v) for v in received.values()) < len(keys) * 5:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    for record in records:
                        assert record.key is not None
                        assert record.value is not None
                        key = record.key.decode()
                        received[key].append(record.value.decode())
                        partitions_by_key[key].add(tp.partition)
        await consumer.commit()
    finally:
        await consumer.stop()

    assert received == sent  # every message, in order per key
    assert all(len(parts) == 1 for parts in partitions_by_key.values())  # a key sticks
    used = set().union(*partitions_by_key.values())
    assert len(used) > 1  # keys spread over several partitions


async def test_topic_creation_is_idempotent(
    kafka_bootstrap_servers: str, topic_names: TopicNames
) -> None:
    created = await ensure_topics(kafka_bootstrap_servers, topic_names.values(), partitions=3)
    assert created == []
    assert set(topic_names) == {
        "created",
        "status_changed",
        "export_requested",
        "export_completed",
        "dead_letter",
    }
    assert topic_names["orders.dead-letter"] == topic_names.dead_letter


async def test_mongo_crud_unique_index_and_aggregation(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    orders = mongo_db["orders"]
    await orders.create_index([("order_id", ASCENDING)], unique=True)
    await orders.insert_many(
        [
            {"order_id": "o1", "shop": "s1", "status": "PAID", "total": 10},
            {"order_id": "o2", "shop": "s1", "status": "SHIPPED", "total": 25},
            {"order_id": "o3", "shop": "s2", "status": "PAID", "total": 7},
        ]
    )

    found = await orders.find_one({"order_id": "o2"}, {"_id": 0})
    assert found == {"order_id": "o2", "shop": "s1", "status": "SHIPPED", "total": 25}

    updated = await orders.update_one(
        {"order_id": "o1"}, {"$set": {"status": "SHIPPED"}}, upsert=True
    )
    assert (updated.matched_count, updated.upserted_id) == (1, None)
    upserted = await orders.update_one(
        {"order_id": "o4"},
        {"$set": {"status": "PAID", "total": 3}, "$setOnInsert": {"shop": "s2"}},
        upsert=True,
    )
    assert upserted.upserted_id is not None
    assert await orders.count_documents({}) == 4

    with pytest.raises(DuplicateKeyError):
        await orders.insert_one({"order_id": "o3", "shop": "s9"})

    cursor = await orders.aggregate(
        [
            {"$match": {"status": {"$in": ["PAID", "SHIPPED"]}}},
            {"$group": {"_id": "$shop", "n": {"$sum": 1}, "total": {"$sum": "$total"}}},
            {"$sort": {"_id": 1}},
        ]
    )
    assert await cursor.to_list() == [
        {"_id": "s1", "n": 2, "total": 35},
        {"_id": "s2", "n": 2, "total": 10},
    ]


async def test_mongo_server_stop_and_restart_keeps_data(mongo_server: MongoServer) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_server.uri, serverSelectionTimeoutMS=1000
    )
    try:
        await client.orders_db.orders.insert_one({"_id": "o1", "status": "PAID"})

        await mongo_server.astop()
        assert not mongo_server.is_running()
        with pytest.raises(PyMongoError):
            await client.orders_db.orders.find_one({"_id": "o1"})

        await mongo_server.astart()
        assert await client.orders_db.orders.find_one({"_id": "o1"}) == {
            "_id": "o1",
            "status": "PAID",
        }
    finally:
        await client.close()


def test_mongo_server_clean_stop_keeps_the_last_acknowledged_write(
    mongo_server: MongoServer,
) -> None:
    # A SIGKILL would lose it (the H2 store commits in the background; README, local stack):
    # the outage tests therefore stop the server cleanly, as this one does.
    with MongoClient[dict[str, Any]](mongo_server.uri, serverSelectionTimeoutMS=2000) as client:
        client.db.c.insert_one({"_id": 1})
        mongo_server.restart()  # SIGTERM, then start on the same port and store
        assert client.db.c.find_one({"_id": 1}) == {"_id": 1}
