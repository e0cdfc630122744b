"""`orderlens seed`: publish realistic demo orders and their status changes to Kafka."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import datetime
from typing import Any

from orderlens.settings import ServiceSettings
from orderlens_devtools.seed import SeedConfig, iter_events
from orderlens_devtools.seed.publish import publish_events


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "seed", help="publish realistic TikTok-shaped demo orders to orders.created"
    )
    parser.add_argument("--orders", type=int, default=1000, help="number of orders")
    parser.add_argument("--shops", type=int, default=3, help="number of shops")
    parser.add_argument("--days", type=int, default=30, help="spread orders over this many days")
    parser.add_argument("--seed", type=int, default=42, help="random seed (deterministic output)")
    parser.add_argument(
        "--end",
        type=datetime.fromisoformat,
        default=None,
        help="the newest possible time, ISO 8601 with offset (default: this hour)",
    )
    parser.add_argument(
        "--bootstrap-servers",
        default=None,
        help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS or localhost:9092)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    bootstrap = args.bootstrap_servers or os.environ.get(
        "KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers
    )
    config_args: dict[str, Any] = {
        "orders": args.orders,
        "shops": args.shops,
        "days": args.days,
        "seed": args.seed,
    }
    if args.end is not None:
        config_args["end"] = args.end
    config = SeedConfig(**config_args)
    started = time.perf_counter()
    counts = asyncio.run(
        publish_events(
            iter_events(config),
            bootstrap_servers=bootstrap,
            created_topic=settings.topic_orders_created,
            status_topic=settings.topic_status_changed,
        )
    )
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{n} to {topic}" for topic, n in counts.items())
    print(f"published {summary} in {elapsed:.1f}s (seed {config.seed}, end {config.end})")
    return 0
