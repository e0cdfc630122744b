"""The simulated carrier's HTTP API (documented in docs/carrier-simulator.md)."""

from __future__ import annotations

import asyncio
import math
import random
import re
from dataclasses import asdict, dataclass, fields

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orderlens.ratelimit import TokenBucket
from orderlens_devtools.carrier_simulator.limits import retry_after_header
from orderlens_devtools.carrier_simulator.parcels import ParcelBook
from orderlens_devtools.carrier_simulator.stats import SimulatorStats

TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9]{5,50}$")


@dataclass
class SimulatorConfig:
    """How the simulated carrier behaves. The fault settings can change at run time."""

    speed: float = 720.0
    latency_ms: float = 80.0
    latency_sigma: float = 0.5
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    rate_limit: float | None = 50.0
    burst: float | None = None
    max_batch: int = 40
    outage: bool = False
    seed: int | None = None


# What POST /_config may change while running (the timeline and the bucket stay fixed).
_MUTABLE = ("latency_ms", "latency_sigma", "error_rate", "throttle_rate", "outage")


class CarrierSimulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.book = ParcelBook(config.speed)
        self.stats = SimulatorStats()
        self.bucket = TokenBucket(config.rate_limit, config.burst) if config.rate_limit else None
        self._rng = random.Random(config.seed)
        self.app = Starlette(
            routes=[
                Route("/v1/track", self.track, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/_stats", self.get_stats, methods=["GET"]),
                Route("/_stats/reset", self.reset_stats, methods=["POST"]),
                Route("/_config", self.get_config, methods=["GET"]),
                Route("/_config", self.set_config, methods=["POST"]),
            ]
        )

    def latency(self) -> float:
        median = self.config.latency_ms / 1000.0
        if median <= 0:
            return 0.0
        sample = median * math.exp(self.config.latency_sigma * self._rng.gauss(0.0, 1.0))
        return min(sample, 20 * median)

    async def track(self, request: Request) -> JSONResponse:
        self.stats.arrived()
        if self.config.outage:
            self.stats.errors_injected += 1
            return _error(503, "service_unavailable", "the carrier is down")
        if self.bucket is not None:
            wait = self.bucket.try_take()
            if wait > 0:
                self.stats.over_limit += 1
                return _throttled(wait)
        if self._rng.random() < self.config.throttle_rate:
            self.stats.throttled_injected += 1
            return _throttled(1.0)
        numbers, problem = await self._numbers(request)
        if problem is not None:
            self.stats.bad_requests += 1
            return _error(400, "bad_request", problem)
        delay = self.latency()
        if self._rng.random() < self.config.error_rate:
            self.stats.errors_injected += 1
            await asyncio.sleep(delay)
            return _error(self._rng.choice((500, 502, 503)), "internal_error", "try again")
        valid = [n for n in numbers if TRACKING_NUMBER.match(n)]
        marked = self.stats.polling(valid)
        try:
            await asyncio.sleep(delay)
        finally:
            self.stats.done(marked)
        return JSONResponse(
            {
                "trackings": [self.book.view(n).to_json() for n in valid],
                "errors": [
                    {
                        "tracking_number": n,
                        "code": "invalid_tracking_number",
                        "message": "5 to 50 letters and digits",
                    }
                    for n in numbers
                    if not TRACKING_NUMBER.match(n)
                ],
            }
        )

    async def _numbers(self, request: Request) -> tuple[list[str], str | None]:
        try:
            body = await request.json()
        except ValueError:
            return [], "the body is not JSON"
        numbers = body.get("tracking_numbers") if isinstance(body, dict) else None
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            return [], "tracking_numbers must be a list of strings"
        if not 1 <= len(numbers) <= self.config.max_batch:
            return [], f"send 1 to {self.config.max_batch} tracking numbers"
        return numbers, None

    async def healthz(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def get_stats(self, request: Request) -> JSONResponse:
        per_number = request.query_params.get("per_number") in {"1", "true"}
        snapshot = self.stats.snapshot(self.config.rate_limit, per_number=per_number)
        snapshot["parcels"] = len(self.book)
        return JSONResponse(snapshot)

    async def reset_stats(self, request: Request) -> JSONResponse:
        self.stats.reset()
        return JSONResponse({"status": "reset"})

    async def get_config(self, request: Request) -> JSONResponse:
        return JSONResponse(asdict(self.config))

    async def set_config(self, request: Request) -> JSONResponse:
        try:
            changes = await request.json()
        except ValueError:
            return _error(400, "bad_request", "the body is not JSON")
        if not isinstance(changes, dict) or not set(changes) <= set(_MUTABLE):
            return _error(400, "bad_request", f"only {', '.join(_MUTABLE)} can change")
        kinds = {f.name: f.type for f in fields(SimulatorConfig)}
        for name, value in changes.items():
            if kinds[name] == "bool" and not isinstance(value, bool):
                return _error(400, "bad_request", f"{name} must be true or false")
            if kinds[name] == "float" and not isinstance(value, int | float):
                return _error(400, "bad_request", f"{name} must be a number")
            setattr(self.config, name, value)
        return JSONResponse(asdict(self.config))


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _throttled(wait: float) -> JSONResponse:
    response = _error(429, "too_many_requests", "rate limit exceeded")
    response.headers["Retry-After"] = retry_after_header(wait)
    return response
