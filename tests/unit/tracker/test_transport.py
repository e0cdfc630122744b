"""Politeness and resilience of every carrier request (against a mock carrier)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from tracker_fakes import ManualClock, make_transport

from orderlens_tracker.adapters.breaker import BreakerOpen, BreakerState
from orderlens_tracker.adapters.transport import CarrierUnavailable, RetryPolicy, parse_retry_after

URL = "https://carrier.test/track"


def answers(*responses: httpx.Response | Exception) -> tuple[list[httpx.Request], object]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return seen, handler


async def test_a_429_is_honoured_then_retried(clock: ManualClock) -> None:
    seen, handler = answers(
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={"ok": 1})
    )
    transport = make_transport(handler, clock)  # type: ignore[arg-type]
    start = clock.now
    response = await transport.request("POST", URL, json=[])
    assert response.status_code == 200
    assert len(seen) == 2
    assert clock.now - start >= 3.0, "the second request waited for Retry-After"
    assert transport.breaker.state == BreakerState.CLOSED


async def test_a_long_retry_after_gives_the_parcels_back(clock: ManualClock) -> None:
    _, handler = answers(httpx.Response(429, headers={"Retry-After": "120"}))
    transport = make_transport(handler, clock)  # type: ignore[arg-type]
    with pytest.raises(CarrierUnavailable) as unavailable:
        await transport.request("GET", URL)
    assert unavailable.value.retry_in == pytest.approx(120)


async def test_server_errors_and_timeouts_are_retried_with_backoff(clock: ManualClock) -> None:
    seen, handler = answers(
        httpx.Response(503),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json={}),
    )
    transport = make_transport(handler, clock)  # type: ignore[arg-type]
    assert (await transport.request("GET", URL)).status_code == 200
    assert len(seen) == 3
    assert len(clock.slept) >= 2


async def test_failures_open_the_breaker_which_then_refuses_at_once(clock: ManualClock) -> None:
    seen, handler = answers(httpx.ConnectError("down"))
    transport = make_transport(handler, clock, attempts=3, failure_threshold=5)  # type: ignore[arg-type]
    with pytest.raises(CarrierUnavailable):
        await transport.request("GET", URL)
    with pytest.raises(BreakerOpen):
        await transport.request("GET", URL)  # two more failures, then refused
    assert transport.breaker.state == BreakerState.OPEN
    assert len(seen) == 5
    with pytest.raises(BreakerOpen):
        await transport.request("GET", URL)
    assert len(seen) == 5, "an open breaker sends nothing"


async def test_a_client_error_goes_back_to_the_adapter_untouched(clock: ManualClock) -> None:
    seen, handler = answers(httpx.Response(401, json={"meta": {"code": 401}}))
    transport = make_transport(handler, clock)  # type: ignore[arg-type]
    assert (await transport.request("GET", URL)).status_code == 401
    assert len(seen) == 1


def test_backoff_is_full_jitter_under_a_cap() -> None:
    policy = RetryPolicy(base_seconds=0.5, cap_seconds=8.0)
    delays = [policy.backoff(10) for _ in range(200)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert max(delays) > 4
    assert min(delays) < 4


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), ("Fri, 20 Nov 2026 08:00:30 GMT", 30.0), ("soon", None), (None, None)],
)
def test_retry_after_in_seconds_or_as_a_date(value: str | None, seconds: float | None) -> None:
    now = datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == seconds
