"""Client-side token buckets: one for the app, one per shop (docs/decisions/0091).

A call takes a token from both before it is sent, so the connector stays under TikTok's limits
instead of discovering them; a throttling answer pauses the bucket it names for `Retry-After`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait until a token is available and take it; callers are served in arrival order.

        The wait is computed once (no polling loop), so a clock that advances in coarse or
        inexact steps cannot make a caller spin.
        """
        async with self._lock:
            now = self._clock()
            start = max(now, self._paused_until, self._updated)
            self._tokens = min(self.burst, self._tokens + (start - self._updated) * self.rate)
            self._updated = start
            if self._tokens >= 1.0:
                self._tokens -= 1.0
            else:
                self._updated = start + (1.0 - self._tokens) / self.rate
                self._tokens = 0.0
            wait = self._updated - now if self._updated > now else 0.0
            if wait > 0:
                await self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (a throttling answer), and restart from an empty bucket."""
        now = self._clock()
        self._paused_until = max(self._paused_until, now + seconds)
        self._tokens = 0.0
        self._updated = max(self._updated, self._paused_until)


class Limiter:
    """The app's bucket plus one bucket per shop, created on first use."""

    def __init__(
        self,
        app_rate: float,
        shop_rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.shop_rate = shop_rate
        self.app = TokenBucket(app_rate, clock=clock, sleep=sleep)
        self._shops: dict[str, TokenBucket] = {}

    def shop(self, shop_id: str) -> TokenBucket:
        bucket = self._shops.get(shop_id)
        if bucket is None:
            bucket = TokenBucket(self.shop_rate, clock=self._clock, sleep=self._sleep)
            self._shops[shop_id] = bucket
        return bucket

    async def acquire(self, shop_id: str | None) -> None:
        if shop_id is not None:
            await self.shop(shop_id).take()
        await self.app.take()

    def throttled(self, shop_id: str | None, seconds: float) -> None:
        if shop_id is not None:
            self.shop(shop_id).pause(seconds)
        else:
            self.app.pause(seconds)
