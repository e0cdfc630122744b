"""Latency of GET /v1/orders on 100,000 seeded orders, beside the raw driver's time.

    uv run python bench/query_latency.py [--orders 100000] [--samples 20] [--workdir DIR]

Servers: `MONGODB_URI` when set, else a private mongo-java-server (H2 store) started for the
run (its data in a temporary directory, removed afterwards). query-api runs as its own process
(uvicorn, real HTTP on a free port); Kafka is not needed for reads. For each of three
representative filters the script measures the list endpoint over HTTP and the same MongoDB
query (the filter that `orderlens.filters` builds, same sort, same limit + 1, same projection)
through PyMongo, in alternation, and prints p50 and p99 (nearest rank) of each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from orderlens import counts_store
from orderlens.filters import build_mongo_filter, parse_list_query
from orderlens.indexes import ensure_indexes
from orderlens.normalise import normalise
from orderlens.roles import Role
from orderlens.tiktok import TikTokOrder
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.devstack import MongoServer, free_port
from orderlens_devtools.seed import SeedConfig, generate_order, shop_ids
from orderlens_query.adapters.order_reader import SUMMARY_PROJECTION

DATABASE = "bench_query_latency"
END = datetime(2026, 1, 1, tzinfo=UTC)
FILTERS: dict[str, list[tuple[str, str]]] = {
    "default tab (newest first)": [("limit", "50")],
    "to-ship tab, one country": [("view", "to_ship"), ("country", "US"), ("limit", "50")],
    "product text, 30 days, total >= 20": [
        ("product", "hoodie"),
        ("created_from", (END - timedelta(days=30)).date().isoformat()),
        ("total_min", "20"),
        ("limit", "50"),
    ],
}


def documents(count: int, config: SeedConfig) -> Iterator[dict[str, Any]]:
    for index in range(count):
        seeded = generate_order(config, index)
        order = normalise(seeded.shop_id, TikTokOrder.model_validate(seeded.final), END)
        yield order.to_document()


async def seed(uri: str, count: int) -> list[str]:
    config = SeedConfig(orders=count, shops=4, days=180, seed=99, end=END)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        db = client[DATABASE]
        await ensure_indexes(db)
        present = await db.orders.estimated_document_count()
        if present < count:
            await db.orders.delete_many({})
            batch: list[dict[str, Any]] = []
            started = time.monotonic()
            for doc in documents(count, config):
                batch.append(doc)
                if len(batch) == 2_000:
                    await db.orders.insert_many(batch)
                    batch = []
            if batch:
                await db.orders.insert_many(batch)
            print(f"seeded {count} orders in {time.monotonic() - started:.0f} s", file=sys.stderr)
            await db[counts_store.COLLECTION].delete_many({})
        # The tab counts read model, as order-ingest keeps it (built once, at its start-up).
        await counts_store.ensure_built(db)
    finally:
        await client.close()
    return shop_ids(config)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


async def measure(uri: str, port: int, shops: list[str], samples: int) -> dict[str, Any]:
    token = mint_token(sub="bench", role=Role.ADMIN, shops=shops, secret=LOCAL_DEV_SECRET)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    results: dict[str, Any] = {}
    try:
        orders = client[DATABASE].orders
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=900,
        ) as http:
            for name, params in FILTERS.items():
                filters, options = parse_list_query(
                    {k: [v for key, v in params if key == k] for k, _ in params}
                )
                query = build_mongo_filter(filters, shops, now=datetime.now(UTC))
                api_times: list[float] = []
                raw_times: list[float] = []
                rows = 0
                for attempt in range(samples + 1):
                    started = time.perf_counter()
                    response = await http.get("/v1/orders", params=tuple(params))
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    rows = len(response.json()["items"])
                    started = time.perf_counter()
                    cursor = (
                        orders.find(query, SUMMARY_PROJECTION)
                        .sort(options.sort.mongo_sort())
                        .limit(options.limit + 1)
                    )
                    await cursor.to_list(length=options.limit + 1)
                    raw = time.perf_counter() - started
                    if attempt:  # the first round warms both up
                        api_times.append(elapsed)
                        raw_times.append(raw)
                results[name] = {
                    "rows": rows,
                    "samples": samples,
                    "api_p50_ms": round(percentile(api_times, 50) * 1000, 1),
                    "api_p99_ms": round(percentile(api_times, 99) * 1000, 1),
                    "raw_p50_ms": round(percentile(raw_times, 50) * 1000, 1),
                    "raw_p99_ms": round(percentile(raw_times, 99) * 1000, 1),
                }
                print(name, results[name], file=sys.stderr)
    finally:
        await client.close()
    return results


def start_api(
    uri: str, port: int, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MONGODB_URI": uri,
        "MONGODB_DATABASE": DATABASE,
        "HTTP_PORT": str(port),
        "HTTP_HOST": "127.0.0.1",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "LOG_LEVEL": "ERROR",
        "QUERY_MAX_TIME_MS": "900000",
        **(extra_env or {}),
    }
    command = [sys.executable, "-m", "orderlens_query"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("query-api did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument(
        "--workdir",
        type=Path,
        help="home of the private MongoDB-wire server, kept afterwards (a second run reuses "
        "its orders)",
    )
    args = parser.parse_args()

    server: MongoServer | None = None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="orderlens-bench-"))
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        server = MongoServer(
            home=workdir / "mongo", log_file=workdir / "mongo.log", port=free_port()
        )
        server.start()
        uri = server.uri
    api: subprocess.Popen[bytes] | None = None
    try:
        shops = asyncio.run(seed(uri, args.orders))
        port = free_port()
        api = start_api(uri, port)
        results = asyncio.run(measure(uri, port, shops, args.samples))
        print(json.dumps({"orders": args.orders, "mongodb": uri, "filters": results}, indent=2))
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=30)
        if server is not None:
            server.stop()
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
