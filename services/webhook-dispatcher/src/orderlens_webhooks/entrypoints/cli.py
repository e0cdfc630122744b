"""`orderlens-webhook-dispatcher [serve]`, `… parked SUBSCRIPTION`, `… replay SUBSCRIPTION`."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from orderlens.mongo import database, make_client
from orderlens.webhooks import replay_parked

from ..adapters.deliveries import DeliveryStore
from ..settings import SERVICE, DispatcherSettings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orderlens-webhook-dispatcher",
        description="Outgoing webhooks: deliver (default), list parked deliveries, replay them.",
    )
    commands = p.add_subparsers(dest="command")
    commands.add_parser("serve", help="consume order events and deliver them (the default)")
    parked = commands.add_parser("parked", help="list a subscription's parked deliveries")
    parked.add_argument("subscription_id")
    parked.add_argument("--limit", type=int, default=100)
    replay = commands.add_parser(
        "replay", help="queue a subscription's parked deliveries again, in their order"
    )
    replay.add_argument("subscription_id")
    replay.add_argument(
        "--delivery", action="append", dest="deliveries", help="only this delivery id (repeat)"
    )
    return p


async def list_parked(settings: DispatcherSettings, subscription_id: str, limit: int) -> list[str]:
    client = make_client(settings.mongodb_uri, app_name=f"orderlens-{SERVICE}-cli")
    try:
        store = DeliveryStore(
            database(client, settings.mongodb_database), keep_delivered=timedelta()
        )
        docs = await store.parked(subscription_id, limit)
    finally:
        await client.close()
    return [
        json.dumps(
            {
                "delivery_id": d["_id"],
                "event_id": d["event_id"],
                "event_type": d["event_type"],
                "order_id": d["order_id"],
                "attempts": d.get("attempts", 0),
                "last_error": d.get("last_error"),
                "parked_at": d["parked_at"].isoformat() if d.get("parked_at") else None,
            }
        )
        for d in docs
    ]


async def replay(
    settings: DispatcherSettings, subscription_id: str, deliveries: Sequence[str] | None
) -> int:
    client = make_client(settings.mongodb_uri, app_name=f"orderlens-{SERVICE}-cli")
    try:
        db = database(client, settings.mongodb_database)
        return await replay_parked(db, subscription_id, datetime.now(UTC), deliveries)
    finally:
        await client.close()


def run_command(args: argparse.Namespace, settings: DispatcherSettings) -> int:
    if args.command == "parked":
        for line in asyncio.run(list_parked(settings, args.subscription_id, args.limit)):
            print(line)
        return 0
    count = asyncio.run(replay(settings, args.subscription_id, args.deliveries))
    print(json.dumps({"subscription_id": args.subscription_id, "replayed": count}))
    return 0
