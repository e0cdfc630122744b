"""The simulated carrier's own rate limit: a token bucket that answers 429 when empty."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class ServerBucket:
    """`rate` requests a second on average, bursts of up to `burst` requests.

    `try_take` never waits: an empty bucket means the request is over the limit, and the
    answer says how long until a token is back (for `Retry-After`).
    """

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.burst
        self._updated = clock()

    def try_take(self) -> float:
        """Take a token and return 0, or return the seconds until one is available."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


def retry_after_header(wait_seconds: float) -> str:
    """HTTP `Retry-After` is whole seconds; round up so that honouring it always suffices."""
    return str(max(1, math.ceil(wait_seconds)))


def parse_rate(text: str) -> float:
    """`50`, `50/s`, `3000/min` -> requests per second."""
    value, _, unit = text.strip().partition("/")
    number = float(value)
    unit = unit.strip().lower() or "s"
    seconds = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
    if unit not in seconds:
        raise ValueError(f"unknown rate unit {unit!r}: use /s or /min")
    if number <= 0:
        raise ValueError("a rate limit must be positive")
    return number / seconds[unit]
