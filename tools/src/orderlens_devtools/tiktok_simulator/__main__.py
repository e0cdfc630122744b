"""`python -m orderlens_devtools.tiktok_simulator --port 18470 --webhook-url http://...`"""

from __future__ import annotations

import argparse

import uvicorn

from .app import Config, create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="TikTok Shop Partner API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18470)
    parser.add_argument("--app-key", default="orderlens-dev")
    parser.add_argument("--app-secret", default="orderlens-dev-secret")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--redirect-url", default=None)
    parser.add_argument("--app-rate", type=float, default=50.0)
    parser.add_argument("--shop-rate", type=float, default=20.0)
    parser.add_argument("--tick-seconds", type=float, default=0.0)
    parser.add_argument("--demo-shop", action="store_true", help="create one shop at start")
    args = parser.parse_args()
    config = Config(
        app_key=args.app_key,
        app_secret=args.app_secret,
        webhook_url=args.webhook_url,
        redirect_url=args.redirect_url,
        app_rate=args.app_rate,
        shop_rate=args.shop_rate,
        tick_seconds=args.tick_seconds,
    )
    app = create_app(config)
    if args.demo_shop:
        app.state.simulator.state.add_shop("Demo shop")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
