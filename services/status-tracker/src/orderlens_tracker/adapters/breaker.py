"""A circuit breaker per provider, so that a carrier outage costs one request, not thousands.

Closed: requests flow; `failure_threshold` consecutive failures open it. Open: every request is
refused at once for `reset_seconds`. Half-open: one trial request goes through; its success
closes the breaker, its failure opens it again. A 429 is not a failure: the carrier is up and
asking for patience, which the rate limiter provides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum


class BreakerState(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class BreakerOpen(Exception):
    """The provider's breaker refuses requests until `retry_at` (a monotonic time)."""

    def __init__(self, provider: str, retry_in: float) -> None:
        super().__init__(f"{provider}: circuit open, next trial in {retry_in:.1f}s")
        self.provider = provider
        self.retry_in = retry_in


class CircuitBreaker:
    def __init__(
        self,
        provider: str,
        *,
        failure_threshold: int = 5,
        reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.provider = provider
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self.opened_count = 0
        if on_change is not None:
            on_change(self._state)

    @property
    def state(self) -> BreakerState:
        if self._state == BreakerState.OPEN and self.retry_in() <= 0:
            self._set(BreakerState.HALF_OPEN)
        return self._state

    def retry_in(self) -> float:
        """Seconds until a trial request is allowed (0 when requests may go now)."""
        if self._state != BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.reset_seconds - self._clock())

    def before_request(self) -> None:
        """Raise BreakerOpen unless a request may go now (in half-open: the one trial)."""
        state = self.state
        if state == BreakerState.CLOSED:
            return
        if state == BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        raise BreakerOpen(self.provider, self.retry_in())

    def record_success(self) -> None:
        self._failures = 0
        self._trial_in_flight = False
        if self._state != BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._trial_in_flight = False
        self._failures += 1
        if self._state == BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._open()

    def record_neutral(self) -> None:
        """An answer that says nothing about health (a 429): release a trial slot."""
        self._trial_in_flight = False

    def _open(self) -> None:
        self._opened_at = self._clock()
        if self._state != BreakerState.OPEN:
            self.opened_count += 1
        self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        self._state = state
        if self._on_change is not None:
            self._on_change(state)
