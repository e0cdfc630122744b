"""The rest of the query benchmark: two more list queries, the detail view, and saturation.

    uv run python -m bench.query_saturation --orders 10000 [--samples 10] [--seconds 20] [--json]

Complements `bench/query_latency.py` (three list queries), on the same seeded database
(`bench_query_latency`, seeded by that script's code when it holds fewer orders; `MONGODB_URI`
is required). query-api runs as its own process (uvicorn on a free port, as query_latency
starts it); this process is the load generator.

- **latency**: `shipped tab, one carrier, by last update` and `buyer name part, by total` on
  GET /v1/orders, and GET /v1/orders/{id} (the detail view, ids drawn from the collection),
  each over HTTP and the same query through PyMongo (for the detail view: `find_one` by `_id`
  within the token's shops, as query-api reads it), in alternation; p50/p99 (nearest rank);
- **saturation**: clients in a loop for `--seconds` (`--concurrency` for the detail view,
  `--list-concurrency` for the default list tab), completed requests/s (requests still in
  flight at the deadline are waited for and counted in the time), over HTTP and (the
  baseline) through PyMongo with as many clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench.profile import pyspy_binary
from bench.query_latency import DATABASE, seed, start_api
from orderlens import counts_store
from orderlens.filters import build_mongo_filter, parse_list_query
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_devtools.devstack import free_port
from orderlens_query.adapters.order_reader import SUMMARY_PROJECTION

EXTRA_FILTERS: dict[str, list[tuple[str, str]]] = {
    "shipped tab, one carrier, by last update": [
        ("view", "shipped"),
        ("carrier", "UPS"),
        ("sort", "-updated_at"),
        ("limit", "50"),
    ],
    "buyer name part, by total": [("buyer", "an"), ("sort", "-total"), ("limit", "50")],
}
DETAIL = "detail view (one order by id)"
TAB_COUNTS = "tab counts (no filter)"
SATURATION_LIST = [("limit", "50")]
PROFILE_RATE = 50

Call = Callable[[], Awaitable[None]]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def timings(api: list[float], raw: list[float], rows: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "samples": len(api),
        "api_p50_ms": round(percentile(api, 50) * 1000, 1),
        "api_p99_ms": round(percentile(api, 99) * 1000, 1),
        "raw_p50_ms": round(percentile(raw, 50) * 1000, 1),
        "raw_p99_ms": round(percentile(raw, 99) * 1000, 1),
    }


class Queries:
    """The measured requests, over HTTP and through the driver."""

    def __init__(self, http: httpx.AsyncClient, orders: Any, shops: list[str]) -> None:
        self.http = http
        self.orders = orders
        self.shops = shops

    def list_api(self, params: list[tuple[str, str]]) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            response = await self.http.get("/v1/orders", params=tuple(params))
            response.raise_for_status()
            return len(response.json()["items"])

        return call

    def list_raw(self, params: list[tuple[str, str]]) -> Callable[[], Awaitable[int]]:
        filters, options = parse_list_query(
            {k: [v for key, v in params if key == k] for k, _ in params}
        )

        async def call() -> int:
            query = build_mongo_filter(filters, self.shops, now=datetime.now(UTC))
            cursor = (
                self.orders.find(query, SUMMARY_PROJECTION)
                .sort(options.sort.mongo_sort())
                .limit(options.limit + 1)
            )
            return len(await cursor.to_list(length=options.limit + 1))

        return call

    def counts_api(self) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            response = await self.http.get("/v1/orders/counts")
            response.raise_for_status()
            return int(response.json()["total"])

        return call

    def counts_raw(self) -> Callable[[], Awaitable[int]]:
        """The driver reading order-ingest's counts read model, as query-api does."""

        async def call() -> int:
            kept = await counts_store.read(self.orders.database, self.shops)
            return 0 if kept is None else sum(kept["by_status"].values())

        return call

    def counts_scan(self) -> Callable[[], Awaitable[int]]:
        """The former way: one `$group` over the shops' orders on every request."""

        async def call() -> int:
            counted = await counts_store.count_orders(self.orders.database, self.shops)
            return sum(sum(c["by_status"].values()) for c in counted.values())

        return call

    def detail_api(self, ids: list[str]) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            response = await self.http.get(f"/v1/orders/{random.choice(ids)}")
            response.raise_for_status()
            return 1

        return call

    def detail_raw(self, ids: list[str]) -> Callable[[], Awaitable[int]]:
        shops = set(self.shops)

        async def call() -> int:
            # As query-api reads it: by `_id` alone (FerretDB's primary key), shop checked after.
            found = await self.orders.find_one({"_id": random.choice(ids)})
            return int(found is not None and found.get("shop_id") in shops)

        return call


async def alternate(
    api: Callable[[], Awaitable[int]], raw: Callable[[], Awaitable[int]], samples: int
) -> dict[str, Any]:
    api_times: list[float] = []
    raw_times: list[float] = []
    rows = 0
    for attempt in range(samples + 1):
        started = time.perf_counter()
        rows = await api()
        api_elapsed = time.perf_counter() - started
        started = time.perf_counter()
        await raw()
        raw_elapsed = time.perf_counter() - started
        if attempt:  # the first round warms both up
            api_times.append(api_elapsed)
            raw_times.append(raw_elapsed)
    return timings(api_times, raw_times, rows)


async def saturate(call: Callable[[], Awaitable[int]], concurrency: int, seconds: float) -> float:
    """Completed calls per second with `concurrency` callers looping for `seconds`."""
    done = 0
    failures = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, failures
        while time.monotonic() < deadline:
            try:
                await call()
                done += 1
            except (httpx.HTTPError, OSError):
                failures += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    if failures:
        print(f"  {failures} failed requests", file=sys.stderr)
    return done / elapsed


def start_profiler(out: str, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy attached to query-api's process (collapsed stacks into `out`), or None when
    py-spy is missing."""
    spy = pyspy_binary()
    if spy is None:
        print("py-spy is not installed: no profile", file=sys.stderr)
        return None
    command = [spy, "record", "--pid", str(pid), "--nonblocking", "--function"]
    command += ["--format", "raw", "--rate", str(PROFILE_RATE), "--output", out]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the load starts
    return process


def stop_profiler(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


async def measure(
    uri: str, port: int, shops: list[str], args: argparse.Namespace, api_pid: int
) -> dict[str, Any]:
    token = mint_token(sub="bench", role=Role.ADMIN, shops=shops, secret=LOCAL_DEV_SECRET)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    latency: dict[str, Any] = {}
    saturation: dict[str, Any] = {}
    try:
        orders = client[DATABASE].orders
        ids = [str(d["_id"]) async for d in orders.find({}, {"_id": 1}).limit(500)]
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=64)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=900,
            limits=limits,
        ) as http:
            queries = Queries(http, orders, shops)
            for name, params in EXTRA_FILTERS.items():
                latency[name] = await alternate(
                    queries.list_api(params), queries.list_raw(params), args.samples
                )
                print(name, latency[name], file=sys.stderr, flush=True)
            latency[DETAIL] = await alternate(
                queries.detail_api(ids), queries.detail_raw(ids), args.detail_samples
            )
            print(DETAIL, latency[DETAIL], file=sys.stderr, flush=True)
            latency[TAB_COUNTS] = await alternate(
                queries.counts_api(), queries.counts_raw(), args.detail_samples
            )
            scan = await alternate(queries.counts_scan(), queries.counts_raw(), 3)
            latency[TAB_COUNTS]["scan_p50_ms"] = scan["api_p50_ms"]
            print(TAB_COUNTS, latency[TAB_COUNTS], file=sys.stderr, flush=True)
            loads = {
                "detail view": (queries.detail_api(ids), queries.detail_raw(ids)),
                "default list tab": (
                    queries.list_api(SATURATION_LIST),
                    queries.list_raw(SATURATION_LIST),
                ),
            }
            # query-api's phases back to back, so that a profiler attached to its process
            # (--profile-api) sees only them; then the driver's.
            spy = start_profiler(args.profile_api, api_pid) if args.profile_api else None
            try:
                for name, (api, _) in loads.items():
                    clients = args.concurrency if name == "detail view" else args.list_concurrency
                    saturation[name] = {
                        "concurrency": clients,
                        "seconds": args.seconds,
                        "api_per_second": round(await saturate(api, clients, args.seconds), 2),
                    }
            finally:
                if spy is not None:
                    stop_profiler(spy)
            for name, (_, raw) in loads.items():
                clients = saturation[name]["concurrency"]
                saturation[name]["raw_per_second"] = round(
                    await saturate(raw, clients, args.seconds), 2
                )
                print(name, saturation[name], file=sys.stderr, flush=True)
    finally:
        await client.close()
    return {"latency": latency, "saturation": saturation}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=10, help="per list query")
    parser.add_argument("--detail-samples", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15.0, help="per saturation run")
    parser.add_argument("--concurrency", type=int, default=16, help="clients, detail view")
    parser.add_argument(
        "--list-concurrency",
        type=int,
        default=4,
        help="clients, list (each list query scans the collection on FerretDB)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--seed-only", action="store_true", help="seed the orders and stop")
    parser.add_argument(
        "--profile-api", metavar="FILE", help="py-spy query-api's process during saturation"
    )
    args = parser.parse_args(argv)
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        parser.error("MONGODB_URI is required (python -m bench starts a server)")
    shops = asyncio.run(seed(uri, args.orders))
    if args.seed_only:
        return 0
    port = free_port()
    api = start_api(uri, port)
    try:
        result = asyncio.run(measure(uri, port, shops, args, api.pid))
    finally:
        api.terminate()
        api.wait(timeout=30)
    print(json.dumps({"orders": args.orders, **result}, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
