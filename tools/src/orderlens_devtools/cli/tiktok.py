"""`orderlens tiktok-simulator` and `orderlens tiktok-connect`: TikTok Shop for the local stack."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any


def register(subparsers: Any) -> None:
    sim: argparse.ArgumentParser = subparsers.add_parser(
        "tiktok-simulator",
        help="serve a simulated TikTok Shop Partner API (OAuth, orders, webhooks)",
        description="Serve a simulated TikTok Shop. See docs/decisions/0092.",
    )
    sim.add_argument("--host", default=os.environ.get("HTTP_HOST", "127.0.0.1"))
    sim.add_argument("--port", type=int, default=int(os.environ.get("HTTP_PORT", "8091")))
    sim.add_argument("--app-key", default=os.environ.get("TIKTOK_APP_KEY", "orderlens-dev"))
    sim.add_argument(
        "--app-secret", default=os.environ.get("TIKTOK_APP_SECRET", "orderlens-dev-secret")
    )
    sim.add_argument("--webhook-url", default=None, help="where signed webhooks are pushed")
    sim.add_argument("--redirect-url", default=None, help="overrides the callback URL asked for")
    sim.add_argument("--app-rate", type=float, default=50.0, help="requests/s per app")
    sim.add_argument("--shop-rate", type=float, default=20.0, help="requests/s per shop")
    sim.add_argument("--duplicate-rate", type=float, default=0.1, help="webhooks sent twice")
    sim.add_argument("--late-rate", type=float, default=0.1, help="webhooks sent out of order")
    sim.add_argument(
        "--tick-seconds",
        type=float,
        default=0.0,
        help="every this many seconds each shop lives one step (new order, payment, shipping, "
        "cancellation, address change); 0: only on POST /_sim/tick",
    )
    sim.add_argument("--demo-shop", default=None, help="create a shop of this name at start")
    sim.add_argument("--demo-orders", type=int, default=0, help="past orders of the demo shop")
    sim.add_argument("--demo-days", type=int, default=30, help="spread them over these days")
    sim.set_defaults(func=run_simulator)

    connect: argparse.ArgumentParser = subparsers.add_parser(
        "tiktok-connect",
        help="connect the simulator's shops to a tiktok-connector through the OAuth flow",
        description="Follow the connector's authorize link to the consent page and back to its "
        "callback, then wait for the first backfill. Prints the shops as JSON.",
    )
    connect.add_argument("--connector", default="http://localhost:8085")
    connect.add_argument("--within", type=float, default=120.0, help="seconds to wait")
    connect.set_defaults(func=run_connect)


def run_simulator(args: argparse.Namespace) -> int:
    import uvicorn

    from orderlens_devtools.tiktok_simulator.app import Config, create_app

    config = Config(
        app_key=args.app_key,
        app_secret=args.app_secret,
        webhook_url=args.webhook_url,
        redirect_url=args.redirect_url,
        app_rate=args.app_rate,
        shop_rate=args.shop_rate,
        duplicate_rate=args.duplicate_rate,
        late_rate=args.late_rate,
        tick_seconds=args.tick_seconds,
    )
    app = create_app(config)
    if args.demo_shop:
        state = app.state.simulator.state
        shop = state.add_shop(args.demo_shop)
        state.populate(shop.id, args.demo_orders, args.demo_days)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def run_connect(args: argparse.Namespace) -> int:
    from orderlens_devtools.tiktok_simulator.demo import connect_shops

    shops = asyncio.run(connect_shops(args.connector.rstrip("/"), within=args.within))
    print(json.dumps(shops))
    return 0
