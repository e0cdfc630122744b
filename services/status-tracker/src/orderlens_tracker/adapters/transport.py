"""Every carrier request goes through here: rate limit, concurrency bound, breaker, retries.

One pooled `httpx.AsyncClient` per process with timeouts; a semaphore bounds the requests in
flight. A 429 pauses the provider's bucket for `Retry-After` (or a backoff) and the request is
tried again; 5xx, timeouts and connection errors count against the breaker and are retried with
exponential backoff and full jitter; other 4xx answers go back to the adapter, which knows what
they mean.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from orderlens.ratelimit import TokenBucket
from orderlens_tracker import metrics
from orderlens_tracker.adapters.breaker import BreakerOpen, CircuitBreaker

log = logging.getLogger("orderlens.tracker.transport")


class CarrierUnavailable(Exception):
    """The carrier did not answer usefully after every attempt; try these parcels later."""

    def __init__(self, message: str, retry_in: float | None = None) -> None:
        super().__init__(message)
        self.retry_in = retry_in


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_seconds: float = 0.5
    cap_seconds: float = 8.0

    def backoff(self, attempt: int) -> float:
        """Full jitter: U(0, min(cap, base * 2**attempt))."""
        return random.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** min(attempt, 20)))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Transport:
    def __init__(
        self,
        provider: str,
        client: httpx.AsyncClient,
        *,
        limiter: TokenBucket,
        breaker: CircuitBreaker,
        retry: RetryPolicy,
        concurrency: int,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.provider = provider
        self.client = client
        self.limiter = limiter
        self.breaker = breaker
        self.retry = retry
        self._slots = asyncio.Semaphore(concurrency)
        self._sleep = sleep

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The carrier's answer (2xx or a 4xx other than 429), or CarrierUnavailable/BreakerOpen."""
        last_problem = "no attempt made"
        retry_in: float | None = None
        for attempt in range(self.retry.max_attempts):
            try:
                self.breaker.before_request()
            except BreakerOpen:
                metrics.POLLS.labels(self.provider, "breaker_open").inc()
                raise
            await self.limiter.acquire()
            outcome, response, wait = await self._attempt(method, url, json, params, headers)
            if response is not None and outcome in ("ok", "client_error"):
                return response
            last_problem = outcome if response is None else f"HTTP {response.status_code}"
            if outcome == "rate_limited":
                backoff = self.retry.backoff(attempt)
                wait = max(wait or 0.0, backoff)
                self.limiter.pause(wait)
                if wait > self.retry.cap_seconds:
                    # Longer than a poll may last: give the parcels back until then.
                    raise CarrierUnavailable(f"{self.provider}: rate limited for {wait:.0f}s", wait)
                retry_in = wait
            else:
                retry_in = None
                if attempt + 1 < self.retry.max_attempts:
                    await self._sleep(self.retry.backoff(attempt))
        raise CarrierUnavailable(
            f"{self.provider}: {last_problem} after {self.retry.max_attempts} attempts", retry_in
        )

    async def _attempt(
        self,
        method: str,
        url: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[str, httpx.Response | None, float | None]:
        started = time.monotonic()
        async with self._slots:
            try:
                response = await self.client.request(
                    method, url, json=json, params=params, headers=headers
                )
            except httpx.TimeoutException as exc:
                return self._failed("timeout", exc, started)
            except httpx.TransportError as exc:
                return self._failed("network_error", exc, started)
        metrics.POLL_DURATION.labels(self.provider).observe(time.monotonic() - started)
        status = response.status_code
        if status == 429:
            metrics.POLLS.labels(self.provider, "rate_limited").inc()
            metrics.RATE_LIMITED.labels(self.provider).inc()
            self.breaker.record_neutral()
            return "rate_limited", response, parse_retry_after(response.headers.get("Retry-After"))
        if status >= 500:
            metrics.POLLS.labels(self.provider, "server_error").inc()
            self.breaker.record_failure()
            return "server_error", response, None
        self.breaker.record_success()
        outcome = "ok" if status < 400 else "client_error"
        metrics.POLLS.labels(self.provider, outcome).inc()
        return outcome, response, None

    def _failed(
        self, outcome: str, exc: Exception, started: float
    ) -> tuple[str, httpx.Response | None, float | None]:
        metrics.POLL_DURATION.labels(self.provider).observe(time.monotonic() - started)
        metrics.POLLS.labels(self.provider, outcome).inc()
        self.breaker.record_failure()
        log.info("%s request failed: %s: %s", self.provider, type(exc).__name__, exc)
        return outcome, None, None
