"""`orderlens carrier-simulator`: serve the simulated carrier tracking API."""

from __future__ import annotations

import argparse
import os
from typing import Any

from orderlens.logging import configure_logging


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "carrier-simulator",
        help="serve a simulated carrier tracking API (latency, errors, 429s, moving parcels)",
        description="Serve a simulated carrier tracking API. See docs/carrier-simulator.md.",
    )
    parser.add_argument("--host", default=os.environ.get("HTTP_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("HTTP_PORT", "8090")))
    parser.add_argument(
        "--speed",
        type=float,
        default=720.0,
        help="simulated time runs this many times faster than real time (default 720: "
        "an hour of a journey in 5 s)",
    )
    parser.add_argument("--latency-ms", type=float, default=80.0, help="median latency")
    parser.add_argument(
        "--latency-sigma",
        type=float,
        default=0.5,
        help="spread of the log-normal latency distribution (0: constant)",
    )
    parser.add_argument(
        "--error-rate", type=float, default=0.01, help="fraction of requests answered 5xx"
    )
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        help="fraction of requests answered 429 regardless of the rate limit",
    )
    parser.add_argument(
        "--rate-limit",
        default="50/s",
        help="requests per second (or N/min) before 429 with Retry-After; 'none' for no limit",
    )
    parser.add_argument(
        "--burst", type=float, default=None, help="bucket size (default: one second's worth)"
    )
    parser.add_argument("--max-batch", type=int, default=40, help="tracking numbers per request")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault injection")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from orderlens_devtools.carrier_simulator import SimulatorConfig, serve
    from orderlens_devtools.carrier_simulator.limits import parse_rate

    rate = None if args.rate_limit.strip().lower() in {"none", "0", ""} else args.rate_limit
    config = SimulatorConfig(
        speed=args.speed,
        latency_ms=args.latency_ms,
        latency_sigma=args.latency_sigma,
        error_rate=args.error_rate,
        throttle_rate=args.throttle_rate,
        rate_limit=None if rate is None else parse_rate(rate),
        burst=args.burst,
        max_batch=args.max_batch,
        seed=args.seed,
    )
    configure_logging("carrier-simulator", args.log_level, json_lines=False)
    serve(config, host=args.host, port=args.port, log_level=args.log_level)
    return 0
