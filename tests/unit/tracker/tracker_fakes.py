"""Fakes for the status-tracker unit tests."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from manual_clock import ManualClock

from orderlens.ratelimit import TokenBucket
from orderlens_tracker.adapters.breaker import CircuitBreaker
from orderlens_tracker.adapters.transport import RetryPolicy, Transport

__all__ = ["ManualClock", "make_transport"]


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
        limiter=TokenBucket(rate, burst=1.0, clock=clock, sleep=clock.sleep),
        breaker=CircuitBreaker(
            "carrier", failure_threshold=failure_threshold, reset_seconds=30, clock=clock
        ),
        retry=RetryPolicy(max_attempts=attempts, base_seconds=0.5, cap_seconds=8.0),
        concurrency=4,
        sleep=clock.sleep,
    )
