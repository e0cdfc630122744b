"""Ingest throughput: order-ingest against a raw baseline, in the same run, on the same data.

    uv run python bench/ingest_throughput.py --orders 1000

Servers: `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI`, else the local dev stack (`orderlens dev up`).
Publishes the seed generator's events for N orders (orders.created paid snapshots, then every
status change) to fresh topics, then drains them twice, each time into a fresh database:

- **order-ingest**: the service (validation, fold, versioned writes, parked events, risk flags,
  sales buckets), timed from start until every offset of both topics is committed;
- **raw baseline**: a plain aiokafka consumer doing the same bulk writes without validation or
  read models: per batch, one upsert per snapshot (`$set` the order) and one upsert per touched
  order (`$push` the status entries, `$set` the last status), committed after the writes.
  Both are upserts so that a status change arriving before its order is kept, as order-ingest
  keeps it (parked): an update that matched nothing would drop it and make the baseline look
  several times faster than it is (measured: 132 of 2,879 status changes kept in such a run).
  Each side's result is checked for completeness before its time counts.

Each side runs as `--replicas` worker processes (default 1) in one consumer group, as order-ingest's
pods do, while this process publishes and polls Kafka for the committed offsets. (Polling from
the measured process, as this script did until 2026-12-02, cost the side measured CPU: about 3 s
of the raw baseline's 5.8 s at 20,000 orders, 1,550 orders/s against 2,278 measured apart.)
`--in-process` runs both sides here instead, for `bench.profile dbcalls`.

Prints orders/s and events/s of each and their ratio, and the CPU seconds each side cost: its
processes' (from `go` to `stop`, not their imports), and the database server's when it runs on
this machine (`bench/cpu.py`; wall time on a shared machine also measures the neighbours).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
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
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError
from pymongo import UpdateOne

from orderlens.events import EventType, encode
from orderlens.mongo import ORDER_BYTES, make_client, stream
from orderlens_devtools.devstack import TopicNames, delete_topics, ensure_topics
from orderlens_devtools.seed import SeedConfig, iter_events
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings

try:
    from bench.cpu import CpuMeter, own_seconds
except ModuleNotFoundError:  # run as a script: bench/ is on the path, not the repository
    from cpu import CpuMeter, own_seconds  # type: ignore[no-redef]


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


def names(who: str, suffix: str) -> tuple[str, str]:
    """The consumer group and the database of a side in one run."""
    short = "ingest" if who == "order-ingest" else "raw"
    return f"bench-{short}-{suffix}", f"bench_{short}_{suffix}"


def service_settings(
    bootstrap: str, mongo_uri: str, topics: TopicNames, suffix: str
) -> IngestSettings:
    group, database = names("order-ingest", suffix)
    return IngestSettings(
        kafka_bootstrap_servers=bootstrap,
        mongodb_uri=mongo_uri,
        mongodb_database=database,
        topic_orders_created=topics.created,
        topic_status_changed=topics.status_changed,
        topic_dead_letter=topics.dead_letter,
        ingest_group_id=group,
        http_host="127.0.0.1",
        http_port=0,
        log_json=False,
        log_level="WARNING",
    )


async def run_service(
    bootstrap: str, mongo_uri: str, topics: TopicNames, suffix: str, expected: tuple[int, int]
) -> float:
    settings = service_settings(bootstrap, mongo_uri, topics, suffix)
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
    snapshot sets `shop_id`; every status change is one history entry (ids are unique).

    order-ingest must keep each change once. The raw baseline is at-least-once: a batch it
    wrote but had not committed when a rebalance moved its partition (replicas joining) is
    written again by the new owner, `$push`ing the same entries twice (500 of 113,265 in a
    two-replica run); its distinct entries are counted."""
    orders, changes = expected
    stored = entries = 0
    # Streamed: 20,000 orders' histories (87 MB) are more than one reply may carry (0220).
    found = stream(db.orders, {}, {"history": 1, "shop_id": 1}, document_bytes=ORDER_BYTES)
    async for doc in found:
        stored += "shop_id" in doc
        history = doc.get("history", [])
        if who == "raw baseline":
            entries += len({entry["id"] for entry in history})
        else:
            entries += len(history)
    if (stored, entries) != (orders, changes):
        raise RuntimeError(
            f"{who} kept {stored} of {orders} orders and {entries} of {changes} status "
            "changes: its figure would not be comparable"
        )


class RawConsumer:
    """The baseline's consumer: the same writes, straight from the records (no validation, no
    fold, no read models)."""

    def __init__(self, bootstrap: str, mongo_uri: str, topics: TopicNames, suffix: str) -> None:
        self.topics = topics
        self.group, database = names("raw baseline", suffix)
        self.client: Any = make_client(mongo_uri, app_name="bench-baseline")
        self.db = self.client[database]
        self.consumer = AIOKafkaConsumer(
            topics.created,
            topics.status_changed,
            bootstrap_servers=bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
        )
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        self._done.set()
        if self._task is not None:
            await self._task
        await self.consumer.stop()
        await self.client.close()

    async def _loop(self) -> None:
        db, consumer, topics = self.db, self.consumer, self.topics
        while not self._done.is_set():
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
            try:
                await consumer.commit(
                    {tp: records[-1].offset + 1 for tp, records in batches.items()}
                )
            except (CommitFailedError, IllegalStateError, RebalanceInProgressError):
                # A replica joined or left meanwhile: the partition's new owner writes these
                # records again (at-least-once, see check_complete); a plain consumer goes on.
                continue


async def run_baseline(
    bootstrap: str, mongo_uri: str, topics: TopicNames, suffix: str, expected: tuple[int, int]
) -> float:
    raw = RawConsumer(bootstrap, mongo_uri, topics, suffix)
    started = time.monotonic()
    await raw.start()
    try:
        await wait_committed(bootstrap, raw.group, [topics.created, topics.status_changed])
        elapsed = time.monotonic() - started
        await check_complete(raw.db, expected, "raw baseline")
        await raw.client.drop_database(raw.db.name)
    finally:
        await raw.stop()
    return elapsed


# -- replicas: each side as N processes in one consumer group ----------------------------------


async def worker(spec: dict[str, Any]) -> None:
    """One replica (`ingest_throughput.py worker SPEC`): set up, say `ready`, start on `go`,
    stop on `stop`, and print the CPU seconds spent in between (imports and set-up are not the
    run's)."""
    topics = TopicNames(**spec["topics"])
    args = (spec["bootstrap"], spec["mongo_uri"], topics, spec["suffix"])
    side: IngestApp | RawConsumer
    if spec["side"] == "order-ingest":
        side = IngestApp(service_settings(*args))
    else:
        side = RawConsumer(*args)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    cpu0 = own_seconds()
    await side.start()
    await asyncio.to_thread(sys.stdin.readline)
    await side.stop()
    print(f"cpu {own_seconds() - cpu0:.3f}", flush=True)


async def _cpu_line(out: asyncio.StreamReader, who: str) -> float:
    """The `cpu SECONDS` line a worker prints when it stopped (other lines are skipped)."""
    while line := await out.readline():
        words = line.decode().split()
        if len(words) == 2 and words[0] == "cpu":
            return float(words[1])
    raise RuntimeError(f"a {who} replica exited without its CPU figure (its error is above)")


async def run_replicas(
    who: str,
    replicas: int,
    bootstrap: str,
    mongo_uri: str,
    topics: TopicNames,
    suffix: str,
    expected: tuple[int, int],
) -> tuple[float, float]:
    """Run `who` (order-ingest or the raw baseline) as `replicas` processes in one consumer
    group, as Kubernetes runs order-ingest's pods; answer the seconds until every offset is
    committed and the processes' CPU seconds in that run."""
    spec = {
        "side": who,
        "bootstrap": bootstrap,
        "mongo_uri": mongo_uri,
        "topics": dataclasses.asdict(topics),
        "suffix": suffix,
    }
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "worker",
            json.dumps(spec),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(replicas)
    ]
    streams = [(w.stdin, w.stdout) for w in workers]
    pipes = [(i, o) for i, o in streams if i is not None and o is not None]
    try:
        for _, out in pipes:
            if (await out.readline()).strip() != b"ready":
                raise RuntimeError(f"a {who} replica did not start")
        started = time.monotonic()
        for stdin, _ in pipes:
            stdin.write(b"go\n")
            await stdin.drain()
        group, database = names(who, suffix)
        committed = asyncio.create_task(
            wait_committed(bootstrap, group, [topics.created, topics.status_changed])
        )
        exited = [asyncio.create_task(w.wait()) for w in workers]
        await asyncio.wait([committed, *exited], return_when=asyncio.FIRST_COMPLETED)
        if not committed.done():
            committed.cancel()
            raise RuntimeError(f"a {who} replica exited before the end (its error is above)")
        elapsed = time.monotonic() - started
        cpu = 0.0
        for stdin, _ in pipes:
            stdin.write(b"stop\n")
            await stdin.drain()
        for _, out in pipes:
            cpu += await _cpu_line(out, who)
    finally:
        for w in workers:
            if w.stdin is not None and not w.stdin.is_closing():
                w.stdin.close()  # a worker still waiting for `go` or `stop` reads EOF and ends
        for w in workers:
            await w.wait()
    client: Any = make_client(mongo_uri, app_name="bench-check")
    try:
        await check_complete(client[database], expected, who)
        await client.drop_database(database)
    finally:
        await client.close()
    return elapsed, cpu


async def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        logging.basicConfig(level=logging.WARNING)
        await worker(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="processes per side, in one consumer group (as Kubernetes runs pods)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run both sides in this process, one after the other (for `bench.profile "
        "dbcalls`, which counts this process's database commands); this process's polling of "
        "Kafka then competes with the side measured",
    )
    parser.add_argument(
        "--baseline-first",
        action="store_true",
        help="drain with the raw baseline first (the side that runs second finds the database "
        "server's JIT warmer: `make bench` alternates the order between repeats)",
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    mongo_uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    suffix = uuid.uuid4().hex[:8]
    topics = TopicNames.with_suffix(f"bench-{suffix}")
    await ensure_topics(bootstrap, topics.values(), partitions=args.partitions)
    config = SeedConfig(orders=args.orders, shops=3, days=30, seed=args.seed)
    sides = ("order-ingest", "raw baseline")
    seconds: dict[str, float] = {}
    cpu = {who: CpuMeter(mongo_uri) for who in sides}
    python: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        created, changes = await publish(bootstrap, topics, config)
        print(
            f"published {created} orders and {changes} status changes "
            f"in {time.monotonic() - t0:.1f}s ({args.partitions} partitions, "
            f"{args.replicas} replica{'s' if args.replicas > 1 else ''} per side)",
            file=sys.stderr,
        )
        expected = (created, changes)
        for who in reversed(sides) if args.baseline_first else sides:
            cpu[who].start()
            if not args.in_process:
                seconds[who], python[who] = await run_replicas(
                    who, args.replicas, bootstrap, mongo_uri, topics, suffix, expected
                )
            elif who == "order-ingest":
                seconds[who] = await run_service(bootstrap, mongo_uri, topics, suffix, expected)
            else:
                seconds[who] = await run_baseline(bootstrap, mongo_uri, topics, suffix, expected)
            cpu[who].stop()
            python.setdefault(who, cpu[who].own)
    finally:
        await delete_topics(bootstrap, list(topics.values()))
    events = created + changes
    service, baseline = seconds["order-ingest"], seconds["raw baseline"]
    print(f"order-ingest : {created / service:8.1f} orders/s  {events / service:8.1f} events/s")
    print(f"raw baseline : {created / baseline:8.1f} orders/s  {events / baseline:8.1f} events/s")
    print(f"ratio        : order-ingest runs at {baseline / service:.0%} of the baseline's rate")
    for who, meter in cpu.items():
        server = "n/a" if meter.server is None else f"{meter.server:.2f}"
        print(f"cpu {who:12s}: python {python[who]:.2f} s  database server {server} s")


if __name__ == "__main__":
    asyncio.run(main())
