"""A token bucket: `rate` tokens a second, at most `burst` saved up (docs/decisions/0210).

One bucket serves both sides of a rate limit. A client awaits `acquire()` before each request
(the status-tracker per carrier, the tiktok-connector per app and shop); a server asks
`try_take()`, which never waits and answers how long until a token is back (the simulators'
429 with `Retry-After`). A throttling answer `pause`s the bucket: it empties and holds every
request back, including one already waiting. The rate can change while running (`set_rate`:
the tracker's replicas re-divide a provider's limit when one joins or leaves).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

#: A hair under a whole token (float rounding) counts as one.
_HAIR = 1e-9


class TokenBucket:
    """Waiters are served in arrival order (one lock, held while waiting).

    `burst` defaults to one second's worth (at least one token). Use a bucket either with
    `acquire` or with `try_take`, not both: a waiter counts on the token it waited for.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        burst = max(1.0, rate) if burst is None else burst
        if burst < 1:
            raise ValueError("burst must be at least 1 (a smaller bucket never holds a token)")
        self._rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        # The time `_tokens` is counted at; in the future while paused (nothing refills before).
        self._at = clock()
        # Bumped by `pause` and `set_rate`: a waiter whose wait they overtook computes it again.
        self._changes = 0
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._refill(self._clock())
        self._rate = rate
        self._changes += 1

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (a throttling answer), then restart from an empty bucket."""
        now = self._clock()
        self._refill(now)
        self._tokens = 0.0
        self._at = max(self._at, now + seconds)
        self._changes += 1

    def try_take(self) -> float:
        """Take a token and return 0, or return the seconds until one is available."""
        return self._take(self._clock())

    async def acquire(self) -> None:
        """Wait until a token is available and take it."""
        async with self._lock:
            while True:
                now = self._clock()
                wait = self._take(now)
                if wait <= 0:
                    return
                changes = self._changes
                await self._sleep(wait)
                if self._changes == changes:
                    # The wait was computed for this token: take it as of then whatever the clock
                    # says now, so a clock that advances in coarse or inexact steps cannot make
                    # a caller wait again, let alone spin.
                    self._tokens, self._at = 0.0, max(self._at, now + wait)
                    return

    def _take(self, now: float) -> float:
        self._refill(now)
        # While paused `_tokens` is 0, so this also holds back every request until the pause ends.
        if self._tokens >= 1.0 - _HAIR:
            self._tokens = max(0.0, self._tokens - 1.0)
            return 0.0
        return max(self._at, now) - now + (1.0 - self._tokens) / self._rate

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
