"""Tracker poll rate against a carrier's rate limit, counted by the carrier (the simulator).

    uv run python bench/tracker_rate.py                      # 50 requests/s for 60 s
    uv run python bench/tracker_rate.py --rate 20 --seconds 15 --replicas 2

Servers: `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI`, else the local dev stack (`orderlens dev up`).
Starts the carrier simulator in this process with a rate limit of `--rate` requests/s (a token
bucket of one second's worth: over the limit it answers 429 and counts the request as over the
limit), and `--replicas` status-tracker replicas configured with the same limit (which they
divide among themselves) and with far more parcels due than the limit lets through. After the
replicas hold their shards and the first requests went out, the simulator's counters are reset
and the run lasts `--seconds`. Prints what the simulator counted: requests, requests over the
limit, the achieved rate and the busiest one-second window.

The parcels are fresh labels the carrier knows nothing about yet (the simulator's journeys start
with a few hours of "not found"): at `--speed 1` the run measures polling, not event publishing.
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
from datetime import UTC, datetime
from typing import Any

import httpx

from orderlens.mongo import make_client
from orderlens_devtools.carrier_simulator import SimulatorConfig, running
from orderlens_devtools.devstack import TopicNames, delete_topics, ensure_topics
from orderlens_tracker.app import TrackerApp
from orderlens_tracker.domain import Package
from orderlens_tracker.settings import TrackerSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="the carrier's limit, requests/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the measured run")
    parser.add_argument("--replicas", type=int, default=1, help="tracker replicas")
    parser.add_argument("--parcels", type=int, default=5000, help="parcels being tracked")
    parser.add_argument("--batch", type=int, default=40, help="tracking numbers per request")
    parser.add_argument("--latency-ms", type=float, default=40.0, help="median carrier latency")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated time speed")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight/replica")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    return parser.parse_args(argv)


async def stats(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(f"{url}/_stats")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
    mongodb_uri = os.environ.get("MONGODB_URI", "mongodb://localhost:27017")
    run_id = uuid.uuid4().hex[:10]
    topics = TopicNames.with_suffix(f"bench-{run_id}")
    database = f"bench_tracker_{run_id}"
    await ensure_topics(bootstrap, topics.values(), partitions=3)
    simulator_config = SimulatorConfig(
        speed=args.speed,
        latency_ms=args.latency_ms,
        latency_sigma=0.5,
        rate_limit=args.rate,
        max_batch=max(40, args.batch),
    )
    apps: list[TrackerApp] = []
    try:
        async with running(simulator_config) as simulator, httpx.AsyncClient() as client:
            settings = TrackerSettings(
                kafka_bootstrap_servers=bootstrap,
                mongodb_uri=mongodb_uri,
                mongodb_database=database,
                topic_orders_created=topics.created,
                topic_status_changed=topics.status_changed,
                topic_dead_letter=topics.dead_letter,
                consumer_group=f"bench-tracker-{run_id}",
                http_host="127.0.0.1",
                http_port=0,
                carrier_simulator_url=simulator.url,
                carrier_simulator_batch=args.batch,
                carrier_rate_limit=args.rate,
                carrier_concurrency=args.concurrency,
                # Every parcel wants a poll every second: demand far above the limit.
                cadence_scale=1.0 / (4 * 3600),
                lease_seconds=90.0,
                refresh_seconds=10.0,
                idle_seconds=0.05,
                shards=32,
            )
            for _ in range(args.replicas):
                app = TrackerApp(settings)
                await app.start()
                apps.append(app)
            packages = [
                Package(f"BENCH{run_id}{i:07d}", f"order-{i}", "shop-1", None, "simpost")
                for i in range(args.parcels)
            ]
            await apps[0].jobs.add_many(packages, datetime.now(UTC))
            deadline = time.monotonic() + 120
            owned = 0
            while owned < settings.shards or (await stats(client, simulator.url))["accepted"] < 5:
                if time.monotonic() > deadline:
                    raise RuntimeError("the replicas never started polling")
                await asyncio.sleep(0.2)
                owned = sum(len(app.leases.owned) for app in apps)
            await client.post(f"{simulator.url}/_stats/reset")
            polls_before = [app.poller.polls for app in apps]
            started = time.monotonic()
            await asyncio.sleep(args.seconds)
            measured = await stats(client, simulator.url)
            elapsed = time.monotonic() - started
    finally:
        for app in apps:
            await app.stop()
        await delete_topics(bootstrap, list(topics.values()))
        mongo = make_client(mongodb_uri, app_name="bench")
        await mongo.drop_database(database)
        await mongo.close()
    requests = measured["requests"]
    return {
        "limit_per_second": args.rate,
        "seconds": round(elapsed, 1),
        "replicas": args.replicas,
        "parcels": args.parcels,
        "batch": args.batch,
        "requests": requests,
        "accepted": measured["accepted"],
        "over_limit": measured["over_limit"],
        "achieved_per_second": round(requests / elapsed, 2),
        "achieved_share_of_limit": round(requests / elapsed / args.rate, 3),
        "busiest_second": measured["peak_requests_1s"],
        "parcel_polls_per_second": round(measured["numbers_polled"] / elapsed, 1),
        "concurrent_polls_of_one_parcel": measured["concurrent_polls"],
        "batches_per_replica": [
            app.poller.polls - b for app, b in zip(apps, polls_before, strict=True)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"limit {result['limit_per_second']:g} req/s, {result['replicas']} replica(s), "
        f"{result['parcels']} parcels, {result['batch']} per request, {result['seconds']} s\n"
        f"  requests seen by the carrier: {result['requests']} "
        f"({result['achieved_per_second']} req/s, "
        f"{result['achieved_share_of_limit']:.1%} of the limit)\n"
        f"  over the limit (429):         {result['over_limit']}\n"
        f"  busiest one-second window:    {result['busiest_second']} requests\n"
        f"  parcels polled per second:    {result['parcel_polls_per_second']}\n"
        f"  one parcel polled twice at once: {result['concurrent_polls_of_one_parcel']}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
