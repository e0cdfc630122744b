"""Fakes for the status-tracker unit tests."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from orderlens_tracker.adapters.breaker import CircuitBreaker
from orderlens_tracker.adapters.ratelimit import TokenBucket
from orderlens_tracker.adapters.transport import RetryPolicy, Transport


class ManualClock:
    """A clock that moves only when told to; `sleep` moves it instead of waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make_transport(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: ManualClock,
    *,
    attempts: int = 3,
    failure_threshold: int = 5,
    rate: float = 1000.0,
) -> Transport:
    """A Transport over `httpx.MockTransport(handler)` whose waits only move `clock`."""
    return Transport(
        "carrier",
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        limiter=TokenBucket(rate, clock=clock, sleep=clock.sleep),
        breaker=CircuitBreaker(
            "carrier", failure_threshold=failure_threshold, reset_seconds=30, clock=clock
        ),
        retry=RetryPolicy(max_attempts=attempts, base_seconds=0.5, cap_seconds=8.0),
        concurrency=4,
        sleep=clock.sleep,
    )
