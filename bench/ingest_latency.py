"""Ingest latency: publish -> queryable, at a fixed offered load, beside a raw consumer.

    uv run python bench/ingest_latency.py --rate 2 --seconds 30 [--json]

Servers: `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` (default: the dev stack's ports).
For each consumer in turn — order-ingest as its own process (`python -m orderlens_ingest`), then
the raw baseline (this script in a child process: a plain aiokafka consumer upserting each
snapshot by `_id`, committing after the write) — on fresh topics and a fresh database:

1. one warm-up order is published and awaited (the consumer joined its group, indexes exist);
2. new orders (`orders.created`, the seed generator's first snapshots) are published at
   `--rate` orders/s for `--seconds`, each send timed;
3. each order is polled by `_id` (FerretDB answers `_id` equality from its primary key) every
   `--poll-ms` until it is found: its latency is found - sent.

Prints p50/p99/max latency (nearest rank) of each, and the orders that never arrived within
`--timeout` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import ReplaceOne

from orderlens.events import encode
from orderlens.mongo import make_client
from orderlens_devtools.devstack import TopicNames, delete_topics, ensure_topics, free_port
from orderlens_devtools.seed import SeedConfig, created_event, iter_orders

CONSUMERS = ("order-ingest", "raw")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def events(count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    config = SeedConfig(orders=count, shops=3, days=30, seed=seed)
    for order in iter_orders(config):
        yield order.order_id, encode(created_event(order))


# -- the raw baseline consumer (a child process) ------------------------------------------------


async def raw_consumer(bootstrap: str, uri: str, topic: str, database: str, group: str) -> None:
    client = make_client(uri, app_name="bench-raw-latency")
    orders = client[database].orders
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            if not batches:
                continue
            ops: list[ReplaceOne[Any]] = []
            for records in batches.values():
                for record in records:
                    event = json.loads(record.value or b"{}")
                    order = event["data"]["order"]
                    ops.append(
                        ReplaceOne(
                            {"_id": order["id"]},
                            {"shop_id": event["data"]["shop_id"], "order": order},
                            upsert=True,
                        )
                    )
            await orders.bulk_write(ops, ordered=False)
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
    finally:
        await consumer.stop()
        await client.close()


# -- the driver ---------------------------------------------------------------------------------


def start_consumer(
    name: str, bootstrap: str, uri: str, topics: TopicNames, database: str, group: str
) -> subprocess.Popen[bytes]:
    if name == "order-ingest":
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "MONGODB_URI": uri,
            "MONGODB_DATABASE": database,
            "TOPIC_ORDERS_CREATED": topics.created,
            "TOPIC_STATUS_CHANGED": topics.status_changed,
            "TOPIC_DEAD_LETTER": topics.dead_letter,
            "INGEST_GROUP_ID": group,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "orderlens_ingest"]
    else:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "MONGODB_URI": uri}
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--raw-consumer",
            f"{topics.created},{database},{group}",
        ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def measure(name: str, args: argparse.Namespace, bootstrap: str, uri: str) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    topics = TopicNames.with_suffix(f"bench-latency-{run_id}")
    database = f"bench_latency_{run_id}"
    group = f"bench-latency-{name}-{run_id}"
    await ensure_topics(bootstrap, topics.values(), partitions=args.partitions)
    client = make_client(uri, app_name="bench-latency-probe")
    orders = client[database].orders
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    process = start_consumer(name, bootstrap, uri, topics, database, group)
    count = int(args.rate * args.seconds)
    generated = list(events(count + 1, seed=args.seed))
    gate = asyncio.Semaphore(args.probes)
    latencies: list[float] = []
    lost = 0

    async def found(order_id: str, deadline: float) -> bool:
        while time.monotonic() < deadline:
            async with gate:
                if await orders.find_one({"_id": order_id}, {"_id": 1}) is not None:
                    return True
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")
            await asyncio.sleep(args.poll_ms / 1000)
        return False

    async def one(order_id: str, value: bytes) -> None:
        nonlocal lost
        sent = time.perf_counter()
        await producer.send(topics.created, value, key=order_id.encode())
        if await found(order_id, time.monotonic() + args.timeout):
            latencies.append(time.perf_counter() - sent)
        else:
            lost += 1

    try:
        warm_id, warm_value = generated[0]
        started = time.monotonic()
        await producer.send_and_wait(topics.created, warm_value, key=warm_id.encode())
        if not await found(warm_id, time.monotonic() + max(args.timeout, 180)):
            raise RuntimeError(f"{name} did not store the warm-up order")
        warm_up = time.monotonic() - started
        tasks = []
        began = time.perf_counter()
        for index, (order_id, value) in enumerate(generated[1:]):
            await asyncio.sleep(max(0.0, began + index / args.rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(order_id, value)))
        offered_for = time.perf_counter() - began
        await asyncio.gather(*tasks)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        await producer.stop()
        await client.drop_database(database)
        await client.close()
        await delete_topics(bootstrap, list(topics.values()))
    result: dict[str, Any] = {
        "consumer": name,
        "orders": count,
        "offered_per_second": round(count / offered_for, 2) if offered_for else None,
        "received": len(latencies),
        "lost": lost,
        "warm_up_seconds": round(warm_up, 1),
        "poll_ms": args.poll_ms,
    }
    if latencies:
        result.update(
            p50_ms=round(percentile(latencies, 50) * 1000, 1),
            p99_ms=round(percentile(latencies, 99) * 1000, 1),
            max_ms=round(max(latencies) * 1000, 1),
        )
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    results = {}
    for name in args.consumers.split(","):
        results[name] = await measure(name, args, bootstrap, uri)
        print(name, results[name], file=sys.stderr, flush=True)
    return {"rate": args.rate, "seconds": args.seconds, "consumers": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=2.0, help="offered load, orders/s")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the load lasts")
    parser.add_argument("--consumers", default=",".join(CONSUMERS))
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--poll-ms", type=float, default=25.0, help="probe interval per order")
    parser.add_argument("--probes", type=int, default=4, help="probe queries in flight at once")
    parser.add_argument("--timeout", type=float, default=120.0, help="an order lost after this")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--raw-consumer", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.raw_consumer:
        topic, database, group = args.raw_consumer.split(",")
        bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        asyncio.run(raw_consumer(bootstrap, os.environ["MONGODB_URI"], topic, database, group))
        return 0
    result = asyncio.run(run(args))
    if not args.json:
        for name, one in result["consumers"].items():
            print(
                f"{name:>13}: p50 {one.get('p50_ms')} ms  p99 {one.get('p99_ms')} ms  "
                f"max {one.get('max_ms')} ms  ({one['received']}/{one['orders']} orders, "
                f"{one['offered_per_second']}/s offered, {one['lost']} lost)"
            )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
