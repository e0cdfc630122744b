"""Client-side token buckets: one for the app, one per shop (docs/decisions/0091, 0210).

A call takes a token from both before it is sent, so the connector stays under TikTok's limits
instead of discovering them; a throttling answer pauses the bucket it names for `Retry-After`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from orderlens.ratelimit import TokenBucket


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
            await self.shop(shop_id).acquire()
        await self.app.acquire()

    def throttled(self, shop_id: str | None, seconds: float) -> None:
        if shop_id is not None:
            self.shop(shop_id).pause(seconds)
        else:
            self.app.pause(seconds)
