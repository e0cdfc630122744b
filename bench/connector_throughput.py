"""tiktok-connector throughput: orders/s from TikTok Shop's webhooks to queryable orders, beside a
raw baseline that fetches and publishes the same orders without the service, in the same run.

    uv run python bench/connector_throughput.py --orders 2000
    uv run python bench/connector_throughput.py --orders 500 --json

Servers: `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` (the bench stack sets them), else the local
dev stack. Both measurements use the TikTok Shop simulator in this process (its rate limits on,
counting every request over them) and order-ingest as its own process; "queryable" is the
order stored in `orders`, which query-api reads.

- service: `orderlens-tiktok-connector` as its own process, the shop connected through the
  OAuth flow; the simulator creates `--orders` orders and pushes one signed webhook each (some
  twice, some late, `--webhook-senders` in flight), the connector verifies, writes them to
  tiktok.notifications, fetches with Get Order Detail (≤ 50 ids a call, inside its per-shop
  budget) and publishes orders.created; timed from the first webhook to the last order stored.
- baseline: the same number of orders, fetched by a plain loop with Get Order Detail (50 ids a
  call, signed by hand, paced at the same per-shop rate) and published straight to
  orders.created; timed from the first call to the last order stored.

One order goes through each path first (warm-up: connections, consumer group joins)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from cryptography.fernet import Fernet

from orderlens.events import OrderCreated, encode, make_event
from orderlens.mongo import make_client
from orderlens.tiktok import TikTokOrder
from orderlens.tiktok_signing import request_sign
from orderlens_devtools.asgi import free_port, serve
from orderlens_devtools.devstack import TopicNames, delete_topics, ensure_topics
from orderlens_devtools.tiktok_simulator.app import Config, Simulator, create_app
from orderlens_devtools.tiktok_simulator.demo import connect_shops

KEY, SECRET = "bench-app", "bench-secret"
BIN = Path(sys.executable).parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders per measurement")
    parser.add_argument("--shop-rate", type=float, default=10.0, help="client calls/s per shop")
    parser.add_argument("--app-rate", type=float, default=40.0, help="client calls/s per app")
    parser.add_argument("--sim-shop-rate", type=float, default=20.0, help="simulator's shop limit")
    parser.add_argument("--sim-app-rate", type=float, default=50.0, help="simulator's app limit")
    parser.add_argument("--duplicates", type=float, default=0.1, help="webhooks sent twice")
    parser.add_argument("--late", type=float, default=0.1, help="webhooks sent out of order")
    parser.add_argument("--webhook-senders", type=int, default=8, help="webhooks in flight")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per measurement")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    return parser.parse_args(argv)


async def _healthy(url: str, process: asyncio.subprocess.Process, what: str) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient() as http:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{what} exited with {process.returncode}")
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer {url}")
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def process(
    command: list[str], env: dict[str, str], health: str, what: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await _healthy(health, proc, what)
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def ingest_env(
    bootstrap: str, uri: str, database: str, topics: TopicNames, port: int
) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URI": uri,
        "MONGODB_DATABASE": database,
        "TOPIC_ORDERS_CREATED": topics.created,
        "TOPIC_STATUS_CHANGED": topics.status_changed,
        "TOPIC_DEAD_LETTER": topics.dead_letter,
        "INGEST_GROUP_ID": f"bench-{database}",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }


async def _stored(orders: Any, shop_id: str, count: int, within: float) -> float:
    """Wait until `count` orders of the shop are stored; returns when (perf_counter)."""
    deadline = time.monotonic() + within
    while await orders.count_documents({"shop_id": shop_id}) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not {count} orders stored within {within:.0f} s")
        await asyncio.sleep(0.05)
    return time.perf_counter()


@contextlib.asynccontextmanager
async def stack(bootstrap: str, uri: str, label: str) -> AsyncIterator[tuple[TopicNames, str, Any]]:
    run_id = uuid.uuid4().hex[:8]
    topics = TopicNames.with_suffix(f"bench-{label}-{run_id}")
    database = f"bench_{label}_{run_id}"
    await ensure_topics(bootstrap, topics.values(), partitions=3)
    client = make_client(uri, app_name=f"bench-{label}")
    port = free_port()
    try:
        async with process(
            [str(BIN / "orderlens-order-ingest")],
            ingest_env(bootstrap, uri, database, topics, port),
            f"http://127.0.0.1:{port}/healthz",
            "order-ingest",
        ):
            yield topics, database, client[database].orders
    finally:
        await client.drop_database(database)
        await client.close()
        await delete_topics(bootstrap, list(topics.values()))


def _stats(sim: Simulator) -> dict[str, Any]:
    return {
        "requests": dict(sim.stats.requests),
        "over_limit": sim.stats.over_limit,
        "bad_signature": sim.stats.bad_signature,
        "webhooks_sent": sim.stats.webhooks_sent,
        "webhooks_failed": sim.stats.webhooks_failed,
    }


async def measure_service(args: argparse.Namespace, bootstrap: str, uri: str) -> dict[str, Any]:
    async with stack(bootstrap, uri, "connector") as (topics, database, orders):
        notifications = f"tiktok.notifications-{database}"
        await ensure_topics(bootstrap, [notifications], partitions=3)
        port, sim_port = free_port(), free_port()
        connector_url, sim_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}"
        config = Config(
            app_key=KEY,
            app_secret=SECRET,
            webhook_url=f"{connector_url}/webhooks/tiktok",
            app_rate=args.sim_app_rate,
            shop_rate=args.sim_shop_rate,
            duplicate_rate=args.duplicates,
            late_rate=args.late,
            webhook_senders=args.webhook_senders,
        )
        sim = Simulator(config)
        shop = sim.state.add_shop("Bench shop")
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "MONGODB_URI": uri,
            "MONGODB_DATABASE": database,
            "TOPIC_ORDERS_CREATED": topics.created,
            "TOPIC_STATUS_CHANGED": topics.status_changed,
            "TOPIC_TIKTOK_NOTIFICATIONS": notifications,
            "TIKTOK_APP_KEY": KEY,
            "TIKTOK_APP_SECRET": SECRET,
            "TIKTOK_API_BASE_URL": sim_url,
            "TIKTOK_AUTH_BASE_URL": sim_url,
            "TIKTOK_AUTHORIZE_URL": f"{sim_url}/oauth/authorize",
            "OAUTH_REDIRECT_URL": f"{connector_url}/oauth/tiktok/callback",
            "TIKTOK_TOKEN_KEYS": Fernet.generate_key().decode(),
            "TIKTOK_APP_RATE": str(args.app_rate),
            "TIKTOK_SHOP_RATE": str(args.shop_rate),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "SYNC_POLL_SECONDS": "0.5",
            "RECONCILE_SECONDS": "3600",
            "LOG_LEVEL": "WARNING",
        }
        try:
            async with (
                serve(create_app(config, sim), sim_port),
                process(
                    [str(BIN / "orderlens-tiktok-connector")],
                    env,
                    f"{connector_url}/healthz",
                    "tiktok-connector",
                ),
            ):
                await connect_shops(connector_url, within=120)
                sim.notify(1, sim.state.new_order(shop.id))  # warm-up
                sim.flush_late()
                await _stored(orders, shop.id, 1, args.timeout)
                sent_before = sim.stats.webhooks_sent
                began = time.perf_counter()
                for _ in range(args.orders):
                    sim.notify(1, sim.state.new_order(shop.id))
                sim.flush_late()
                delivered = asyncio.create_task(_delivered(sim, sent_before + args.orders))
                ended = await _stored(orders, shop.id, args.orders + 1, args.timeout)
                answered = await delivered
                stats = _stats(sim)
        finally:
            await delete_topics(bootstrap, [notifications])
    seconds = ended - began
    return {
        "orders": args.orders,
        "seconds": round(seconds, 2),
        "orders_per_second": round(args.orders / seconds, 1),
        # When TikTok had every webhook answered 200 (durable in tiktok.notifications).
        "webhooks_answered_seconds": round(answered - began, 2),
        "simulator": stats,
    }


async def _delivered(sim: Simulator, at_least: int) -> float:
    # Polled: the simulator's counters have no event to wait on (a benchmark, not a test).
    while sim.stats.webhooks_sent < at_least or sim.outbox.qsize():  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return time.perf_counter()


async def _signed_get(
    http: httpx.AsyncClient, url: str, path: str, params: dict[str, str], token: str
) -> dict[str, Any]:
    query = {"app_key": KEY, "timestamp": str(int(time.time())), **params}
    query["sign"] = request_sign(SECRET, path, query, b"")
    answer = await http.get(
        url + path,
        params=query,
        headers={"x-tts-access-token": token, "content-type": "application/json"},
    )
    body: dict[str, Any] = answer.json()
    if body.get("code") != 0:
        raise RuntimeError(f"{path}: {body.get('code')} {body.get('message')}")
    data: dict[str, Any] = body["data"]
    return data


async def measure_baseline(args: argparse.Namespace, bootstrap: str, uri: str) -> dict[str, Any]:
    async with stack(bootstrap, uri, "rawfetch") as (topics, _, orders):
        sim_port = free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        config = Config(
            app_key=KEY,
            app_secret=SECRET,
            app_rate=args.sim_app_rate,
            shop_rate=args.sim_shop_rate,
        )
        sim = Simulator(config)
        shop = sim.state.add_shop("Bench shop")
        warm = sim.state.new_order(shop.id)["id"]
        ids = [sim.state.new_order(shop.id)["id"] for _ in range(args.orders)]
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            async with serve(create_app(config, sim), sim_port), httpx.AsyncClient() as http:
                consent = await http.get(f"{sim_url}/oauth/authorize", params={"app_key": KEY})
                code = consent.json()["data"]["code"]
                grant = await http.get(
                    f"{sim_url}/api/v2/token/get",
                    params={
                        "app_key": KEY,
                        "app_secret": SECRET,
                        "auth_code": code,
                        "grant_type": "authorized_code",
                    },
                )
                token = grant.json()["data"]["access_token"]
                shops = await _signed_get(http, sim_url, "/authorization/202309/shops", {}, token)
                cipher = shops["shops"][0]["cipher"]
                interval = 1.0 / min(args.shop_rate, args.app_rate)
                next_call = time.perf_counter()

                async def fetch_and_publish(batch: list[str]) -> None:
                    nonlocal next_call
                    await asyncio.sleep(max(0.0, next_call - time.perf_counter()))
                    next_call = max(next_call, time.perf_counter()) + interval
                    found = await _signed_get(
                        http,
                        sim_url,
                        "/order/202309/orders",
                        {"ids": ",".join(batch), "shop_cipher": cipher},
                        token,
                    )
                    for raw in found["orders"]:
                        event = make_event(
                            OrderCreated(shop_id=shop.id, order=TikTokOrder.model_validate(raw)),
                            source="bench/raw-fetch",
                            subject=raw["id"],
                        )
                        await producer.send(topics.created, encode(event), key=raw["id"].encode())

                await fetch_and_publish([warm])
                await producer.flush()
                await _stored(orders, shop.id, 1, args.timeout)
                began = time.perf_counter()
                for start in range(0, len(ids), 50):
                    await fetch_and_publish(ids[start : start + 50])
                await producer.flush()
                ended = await _stored(orders, shop.id, args.orders + 1, args.timeout)
                stats = _stats(sim)
        finally:
            await producer.stop()
    seconds = ended - began
    return {
        "orders": args.orders,
        "seconds": round(seconds, 2),
        "orders_per_second": round(args.orders / seconds, 1),
        "simulator": stats,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
    uri = os.environ.get("MONGODB_URI", "mongodb://localhost:27017")
    service = await measure_service(args, bootstrap, uri)
    baseline = await measure_baseline(args, bootstrap, uri)
    return {
        "orders": args.orders,
        "shop_rate": args.shop_rate,
        "service": service,
        "baseline": baseline,
        "ratio": round(service["orders_per_second"] / baseline["orders_per_second"], 3),
        "over_limit": service["simulator"]["over_limit"],
        "baseline_over_limit": baseline["simulator"]["over_limit"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run(args))
    if not args.json:
        service, baseline = result["service"], result["baseline"]
        print(
            f"{result['orders']} orders, {result['shop_rate']:g} Get Order Detail calls/s/shop\n"
            f"  tiktok-connector: {service['orders_per_second']} orders/s "
            f"({service['seconds']} s, webhooks -> stored; every webhook answered after "
            f"{service['webhooks_answered_seconds']} s)\n"
            f"  raw baseline:     {baseline['orders_per_second']} orders/s "
            f"({baseline['seconds']} s, fetch + publish -> stored)\n"
            f"  ratio: {result['ratio']:.2f}; simulator's requests over its limit: "
            f"{result['over_limit']}"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
