"""Ingest throughput: order-ingest against a raw baseline, in the same run, on the same data.

    uv run python bench/ingest_throughput.py --orders 1000

Servers: `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI`, else the local dev stack (`orderlens dev up`).
Publishes the seed generator's events for N orders (orders.created paid snapshots, then every
status change) to fresh topics, then drains them twice, each time into a fresh database:

- **order-ingest**: the service in-process (validation, fold, versioned writes, parked events,
  risk flags, sales buckets), timed from start until every offset of both topics is committed;
- **raw baseline**: a plain aiokafka consumer doing the same bulk writes without validation or
  read models: per batch, one upsert per snapshot (`$set` the order) and one upsert per touched
  order (`$push` the status entries, `$set` the last status), committed after the writes.
  Both are upserts so that a status change arriving before its order is kept, as order-ingest
  keeps it (parked): an update that matched nothing would drop it and make the baseline look
  several times faster than it is (measured: 132 of 2,879 status changes kept in such a run).
  Each side's result is checked for completeness before its time counts.

Prints orders/s and events/s of each and their ratio, and the CPU seconds each side cost: this
process's, and the database server's when it runs on this machine (`bench/cpu.py`; wall time on
a shared machine also measures the neighbours).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import uuid
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import UpdateOne

from orderlens.events import EventType, encode
from orderlens.mongo import ORDER_BYTES, make_client, stream
from orderlens_devtools.devstack import TopicNames, delete_topics, ensure_topics
from orderlens_devtools.seed import SeedConfig, iter_events
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings

try:
    from bench.cpu import CpuMeter
except ModuleNotFoundError:  # run as a script: bench/ is on the path, not the repository
    from cpu import CpuMeter  # type: ignore[no-redef]


async def publish(bootstrap: str, topics: TopicNames, config: SeedConfig) -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    created = changes = 0
    try:
        futures = []
        for event in iter_events(config):
            is_created = event.type == EventType.ORDER_CREATED
            topic = topics.created if is_created else topics.status_changed
            futures.append(await producer.send(topic, encode(event), key=event.subject.encode()))
            created += is_created
            changes += not is_created
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return created, changes


async def all_committed(bootstrap: str, group: str, topics: list[str]) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        descriptions = await admin.describe_topics(topics)
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    tps = [
        TopicPartition(d["topic"], p["partition"]) for d in descriptions for p in d["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return all(
        ends[tp] == 0 or (tp in committed and committed[tp].offset == ends[tp]) for tp in tps
    )


async def wait_committed(bootstrap: str, group: str, topics: list[str]) -> None:
    """Poll Kafka until the group committed the end of every partition (durably written)."""
    for _ in range(10**6):
        if await all_committed(bootstrap, group, topics):
            return
        await asyncio.sleep(0.5)


async def run_service(
    bootstrap: str, mongo_uri: str, topics: TopicNames, suffix: str, expected: tuple[int, int]
) -> float:
    settings = IngestSettings(
        kafka_bootstrap_servers=bootstrap,
        mongodb_uri=mongo_uri,
        mongodb_database=f"bench_ingest_{suffix}",
        topic_orders_created=topics.created,
        topic_status_changed=topics.status_changed,
        topic_dead_letter=topics.dead_letter,
        ingest_group_id=f"bench-ingest-{suffix}",
        http_host="127.0.0.1",
        http_port=0,
        log_json=False,
        log_level="WARNING",
    )
    app = IngestApp(settings)
    started = time.monotonic()
    await app.start()
    try:
        await wait_committed(
            bootstrap, settings.ingest_group_id, [topics.created, topics.status_changed]
        )
        elapsed = time.monotonic() - started
        await check_complete(app.db, expected, "order-ingest")
        await app.client.drop_database(settings.mongodb_database)
    finally:
        await app.stop()
    return elapsed


async def check_complete(db: Any, expected: tuple[int, int], who: str) -> None:
    """A run that lost writes would be fast for the wrong reason: refuse its figure. Every
    snapshot sets `shop_id`; every status change is one history entry (ids are unique)."""
    orders, changes = expected
    stored = entries = 0
    # Streamed: 20,000 orders' histories (87 MB) are more than one reply may carry (0220).
    found = stream(db.orders, {}, {"history": 1, "shop_id": 1}, document_bytes=ORDER_BYTES)
    async for doc in found:
        stored += "shop_id" in doc
        entries += len(doc.get("history", []))
    if (stored, entries) != (orders, changes):
        raise RuntimeError(
            f"{who} kept {stored} of {orders} orders and {entries} of {changes} status "
            "changes: its figure would not be comparable"
        )


async def run_baseline(
    bootstrap: str, mongo_uri: str, topics: TopicNames, suffix: str, expected: tuple[int, int]
) -> float:
    """The same writes, straight from the records: no validation, no fold, no read models."""
    client = make_client(mongo_uri, app_name="bench-baseline")
    db = client[f"bench_raw_{suffix}"]
    group = f"bench-raw-{suffix}"
    consumer = AIOKafkaConsumer(
        topics.created,
        topics.status_changed,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    started = time.monotonic()
    await consumer.start()
    done = asyncio.Event()

    async def loop() -> None:
        while not done.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            if not batches:
                continue
            snapshots: list[UpdateOne[Any]] = []
            history: dict[str, list[dict[str, Any]]] = defaultdict(list)
            last_status: dict[str, str] = {}
            for tp, records in batches.items():
                for record in records:
                    event = json.loads(record.value or b"{}")
                    data = event.get("data", {})
                    if tp.topic == topics.created:
                        order = data["order"]
                        snapshots.append(
                            UpdateOne(
                                {"_id": order["id"]},
                                {"$set": {"shop_id": data["shop_id"], "order": order}},
                                upsert=True,
                            )
                        )
                    else:
                        history[data["order_id"]].append({"id": event["id"], **data})
                        if data.get("status"):
                            last_status[data["order_id"]] = data["status"]
            if snapshots:
                await db.orders.bulk_write(snapshots, ordered=False)
            updates = [
                UpdateOne(
                    {"_id": order_id},
                    {
                        "$push": {"history": {"$each": entries}},
                        **(
                            {"$set": {"status": last_status[order_id]}}
                            if order_id in last_status
                            else {}
                        ),
                    },
                    upsert=True,
                )
                for order_id, entries in history.items()
            ]
            if updates:
                await db.orders.bulk_write(updates, ordered=False)
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})

    task = asyncio.create_task(loop())
    try:
        await wait_committed(bootstrap, group, [topics.created, topics.status_changed])
        elapsed = time.monotonic() - started
        await check_complete(db, expected, "raw baseline")
    finally:
        done.set()
        await task
        await consumer.stop()
        await client.drop_database(db.name)
        await client.close()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    mongo_uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    suffix = uuid.uuid4().hex[:8]
    topics = TopicNames.with_suffix(f"bench-{suffix}")
    await ensure_topics(bootstrap, topics.values(), partitions=args.partitions)
    config = SeedConfig(orders=args.orders, shops=3, days=30, seed=args.seed)
    try:
        t0 = time.monotonic()
        created, changes = await publish(bootstrap, topics, config)
        print(
            f"published {created} orders and {changes} status changes "
            f"in {time.monotonic() - t0:.1f}s ({args.partitions} partitions)",
            file=sys.stderr,
        )
        cpu = {"order-ingest": CpuMeter(mongo_uri), "raw baseline": CpuMeter(mongo_uri)}
        cpu["order-ingest"].start()
        service = await run_service(bootstrap, mongo_uri, topics, suffix, (created, changes))
        cpu["order-ingest"].stop()
        cpu["raw baseline"].start()
        baseline = await run_baseline(bootstrap, mongo_uri, topics, suffix, (created, changes))
        cpu["raw baseline"].stop()
    finally:
        await delete_topics(bootstrap, list(topics.values()))
    events = created + changes
    print(f"order-ingest : {created / service:8.1f} orders/s  {events / service:8.1f} events/s")
    print(f"raw baseline : {created / baseline:8.1f} orders/s  {events / baseline:8.1f} events/s")
    print(f"ratio        : order-ingest runs at {baseline / service:.0%} of the baseline's rate")
    for who, meter in cpu.items():
        server = "n/a" if meter.server is None else f"{meter.server:.2f}"
        print(f"cpu {who:12s}: python {meter.own:.2f} s  database server {server} s")


if __name__ == "__main__":
    asyncio.run(main())
