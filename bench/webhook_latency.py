"""Webhook delivery latency at a fixed event rate, and deliveries lost across a receiver outage.

    uv run python bench/webhook_latency.py --rate 20 --seconds 30 --outage 10 [--json]

Servers: `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` (default: the dev stack's ports). On fresh
topics and a fresh database, with one subscription to a receiver served by this process
(`orderlens_devtools.webhook_receiver`, real HTTP, checking every signature):

1. **latency** — the webhook dispatcher as its own process (`python -m orderlens_webhooks`);
   `orders.created` events are published at `--rate`/s for `--seconds`; latency = the
   receiver's arrival time − the send time, per event (p50/p99/max, nearest rank). Then the
   raw baseline, a child process of this script: a plain aiokafka consumer that POSTs each
   record to the receiver and commits (no outbox, no signature, no retries), same load.
2. **outage** — the dispatcher again (fresh topics and database), the same load; after a third
   of `--seconds` the receiver answers 503 for `--outage` seconds, then recovers. Lost = events
   published that the receiver never accepted within `--timeout` s after the load (must be 0);
   duplicates (at least once) and the latency of events sent during the outage are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from orderlens.events import encode
from orderlens.webhooks import SUBSCRIPTIONS
from orderlens_devtools.devstack import TopicNames, delete_topics, ensure_topics, free_port
from orderlens_devtools.webhook_receiver import Receiver, order_created, receivers, subscription

SHOP = "bench-webhooks-shop"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    return {
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


class Run:
    """Fresh topics and database, the subscription, and the consumer process under test."""

    def __init__(self, bootstrap: str, uri: str, name: str, receiver: Receiver) -> None:
        self.bootstrap = bootstrap
        self.uri = uri
        self.suffix = f"bench-{name}-{uuid.uuid4().hex[:8]}"
        self.topics = TopicNames.with_suffix(self.suffix)
        self.db_name = f"bench_webhooks_{uuid.uuid4().hex[:8]}"
        self.receiver = receiver
        self.process: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> Run:
        await ensure_topics(self.bootstrap, self.topics.values(), partitions=3)
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.uri, tz_aware=True)
        try:
            sub = subscription(SHOP, self.receiver)
            await client[self.db_name][SUBSCRIPTIONS].insert_one(sub.document())
        finally:
            await client.close()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        await delete_topics(self.bootstrap, list(self.topics.values()))
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.uri)
        try:
            await client.drop_database(self.db_name)
        finally:
            await client.close()

    def start(self, consumer: str) -> None:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "MONGODB_URI": self.uri,
            "MONGODB_DATABASE": self.db_name,
            "TOPIC_ORDERS_CREATED": self.topics.created,
            "TOPIC_STATUS_CHANGED": self.topics.status_changed,
            "TOPIC_DEAD_LETTER": self.topics.dead_letter,
            "HTTP_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
            "WEBHOOK_GROUP_ID": f"webhooks-{self.suffix}",
            "WEBHOOK_ALLOW_HTTP": "true",
            "WEBHOOK_ALLOW_INTERNAL": "true",
            # The outage lasts seconds: retry within a second, never park here.
            "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
            "WEBHOOK_RETRY_CAP_SECONDS": "1",
            "WEBHOOK_POLL_SECONDS": "0.5",
            "WEBHOOK_LEASE_SECONDS": "10",
        }
        if consumer == "dispatcher":
            argv = [sys.executable, "-m", "orderlens_webhooks"]
        else:
            argv = [sys.executable, __file__, "--raw-consumer", self.receiver.url]
        self.process = subprocess.Popen(argv, env=env)


async def offer_load(
    producer: AIOKafkaProducer, topic: str, rate: float, seconds: float, sent: dict[str, float]
) -> None:
    """`rate` events/s for `seconds`, on a fixed schedule (not slowed by slow sends)."""
    count = max(1, round(rate * seconds))
    started = time.monotonic()
    for n in range(count):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        event = order_created(f"{SHOP}-{uuid.uuid4().hex[:10]}", SHOP)
        sent[event.id] = datetime.now(UTC).timestamp()
        await producer.send(topic, encode(event), key=event.subject.encode())
    await producer.flush()


async def arrived(receiver: Receiver, ids: set[str], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if ids <= set(receiver.ids()):
            return True
        await asyncio.sleep(0.1)
    return False


async def warm_up(run: Run, producer: AIOKafkaProducer) -> None:
    """One event delivered: the consumer joined its group, the worker holds its lease."""
    event = order_created(f"{SHOP}-warm-{uuid.uuid4().hex[:6]}", SHOP)
    for _ in range(120):
        await producer.send_and_wait(run.topics.created, encode(event), key=event.subject.encode())
        if await arrived(run.receiver, {event.id}, 5):
            return
    raise RuntimeError("the consumer never delivered the warm-up event")


def latencies_of(receiver: Receiver, sent: dict[str, float]) -> dict[str, float]:
    first: dict[str, float] = {}
    for r in receiver.accepted:
        if r.event_id in sent and r.event_id not in first:
            first[r.event_id] = r.at.timestamp() - sent[r.event_id]
    return first


async def measure_latency(
    consumer: str, args: argparse.Namespace, bootstrap: str, uri: str
) -> dict[str, Any]:
    receiver = Receiver()
    async with receivers(receiver), Run(bootstrap, uri, consumer, receiver) as run:
        run.start(consumer)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
        await producer.start()
        try:
            await warm_up(run, producer)
            sent: dict[str, float] = {}
            await offer_load(producer, run.topics.created, args.rate, args.seconds, sent)
            await arrived(receiver, set(sent), args.timeout)
        finally:
            await producer.stop()
        got = latencies_of(receiver, sent)
        return {
            **summary_ms(list(got.values())),
            "sent": len(sent),
            "lost": len(set(sent) - set(got)),
            "signatures_valid": all(r.signature_valid for r in receiver.accepted),
        }


async def measure_outage(args: argparse.Namespace, bootstrap: str, uri: str) -> dict[str, Any]:
    receiver = Receiver()
    async with receivers(receiver), Run(bootstrap, uri, "outage", receiver) as run:
        run.start("dispatcher")
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
        await producer.start()
        outage_ids: set[str] = set()
        try:
            await warm_up(run, producer)
            sent: dict[str, float] = {}

            async def outage() -> None:
                await asyncio.sleep(args.seconds / 3)
                receiver.status = 503
                before = set(sent)
                await asyncio.sleep(args.outage)
                receiver.status = 200
                outage_ids.update(set(sent) - before)

            await asyncio.gather(
                offer_load(producer, run.topics.created, args.rate, args.seconds, sent), outage()
            )
            await arrived(receiver, set(sent), args.timeout)
        finally:
            await producer.stop()
        got = latencies_of(receiver, sent)
        ids = [r.event_id for r in receiver.accepted if r.event_id in sent]
        return {
            "sent": len(sent),
            "lost": len(set(sent) - set(got)),
            "duplicates": len(ids) - len(set(ids)),
            "refused_attempts": receiver.refused,
            "outage_seconds": args.outage,
            "during_outage": summary_ms([got[i] for i in outage_ids if i in got]),
            "signatures_valid": all(r.signature_valid for r in receiver.accepted),
        }


async def raw_consumer(url: str) -> None:
    """The baseline: each record POSTed as it is read, then committed; nothing else."""
    consumer = AIOKafkaConsumer(
        os.environ["TOPIC_ORDERS_CREATED"],
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        group_id=os.environ["WEBHOOK_GROUP_ID"] + "-raw",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                batches = await consumer.getmany(timeout_ms=100, max_records=500)
                for records in batches.values():
                    for record in records:
                        await client.post(
                            url,
                            content=record.value,
                            headers={"content-type": "application/cloudevents+json"},
                        )
                if batches:
                    await consumer.commit()
    finally:
        await consumer.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    result: dict[str, Any] = {"rate": args.rate, "seconds": args.seconds}
    result["dispatcher"] = await measure_latency("dispatcher", args, bootstrap, uri)
    result["raw"] = await measure_latency("raw", args, bootstrap, uri)
    result["outage"] = await measure_outage(args, bootstrap, uri)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="offered load, events/s")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the load lasts")
    parser.add_argument("--outage", type=float, default=10.0, help="receiver down, seconds")
    parser.add_argument("--timeout", type=float, default=120.0, help="an event lost after this")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--raw-consumer", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.raw_consumer:
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(raw_consumer(args.raw_consumer))
        return 0
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0 if result["outage"]["lost"] == 0 and result["dispatcher"]["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
