"""The simulated carrier's own rate limit, around `orderlens.ratelimit.TokenBucket.try_take`:
its `Retry-After` header and the `--rate-limit` syntax."""

from __future__ import annotations

import math


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
