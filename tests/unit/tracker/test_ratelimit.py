"""The client-side token bucket: the rate is kept, bursts are bounded, Retry-After holds all."""

from __future__ import annotations

import pytest
from tracker_fakes import ManualClock

from orderlens_tracker.adapters.ratelimit import TokenBucket


async def test_requests_are_paced_at_the_rate(clock: ManualClock) -> None:
    bucket = TokenBucket(10.0, burst=1.0, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(21):
        await bucket.acquire()
    # One token at hand, then 20 more at 10 a second.
    assert clock.now - start == pytest.approx(2.0)


async def test_a_burst_is_bounded_by_the_bucket(clock: ManualClock) -> None:
    bucket = TokenBucket(5.0, burst=3.0, clock=clock, sleep=clock.sleep)
    clock.advance(100)  # a long idle time saves up no more than the bucket holds
    for _ in range(3):
        await bucket.acquire()
    assert clock.slept == []
    await bucket.acquire()
    assert clock.slept == [pytest.approx(0.2)]


async def test_a_pause_holds_every_request_back(clock: ManualClock) -> None:
    bucket = TokenBucket(100.0, burst=5.0, clock=clock, sleep=clock.sleep)
    bucket.pause_for(3.0)
    start = clock.now
    await bucket.acquire()
    assert clock.now - start >= 3.0


async def test_the_rate_can_be_divided_among_replicas(clock: ManualClock) -> None:
    bucket = TokenBucket(10.0, burst=1.0, clock=clock, sleep=clock.sleep)
    await bucket.acquire()
    bucket.set_rate(5.0)
    start = clock.now
    for _ in range(5):
        await bucket.acquire()
    assert clock.now - start == pytest.approx(1.0)


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
