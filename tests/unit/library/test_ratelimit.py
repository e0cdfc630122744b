"""The token bucket of `orderlens.ratelimit`, as its three users rely on it: the tracker and the
connector wait for tokens (`acquire`), the simulators answer 429 (`try_take`). The clock is
injected: a wait only moves it."""

from __future__ import annotations

import asyncio

import pytest
from manual_clock import ManualClock

from orderlens.ratelimit import TokenBucket


def bucket_on(clock: ManualClock, rate: float, burst: float | None = None) -> TokenBucket:
    return TokenBucket(rate, burst, clock=clock, sleep=clock.sleep)


# -- waiting for tokens (status-tracker, tiktok-connector) -----------------------------------


async def test_requests_are_paced_at_the_rate() -> None:
    clock = ManualClock()
    bucket = bucket_on(clock, 10.0, burst=1.0)
    for _ in range(21):
        await bucket.acquire()
    # One token at hand, then 20 more at 10 a second.
    assert clock.now - 1000.0 == pytest.approx(2.0)


async def test_a_burst_is_bounded_by_the_bucket() -> None:
    clock = ManualClock()
    bucket = bucket_on(clock, 5.0, burst=3.0)
    clock.advance(100)  # a long idle time saves up no more than the bucket holds
    for _ in range(3):
        await bucket.acquire()
    assert clock.slept == []
    await bucket.acquire()
    assert clock.slept == [pytest.approx(0.2)]


async def test_the_burst_is_one_seconds_worth_unless_given() -> None:
    clock = ManualClock()
    bucket = bucket_on(clock, 4.0)
    for _ in range(4):
        await bucket.acquire()
    assert clock.slept == []
    await bucket.acquire()
    assert clock.slept == [pytest.approx(0.25)]
    assert bucket_on(clock, 0.5).burst == 1.0


async def test_a_pause_holds_every_request_back() -> None:
    clock = ManualClock()
    bucket = bucket_on(clock, 100.0, burst=5.0)
    bucket.pause(3.0)
    await bucket.acquire()
    # The pause, then an empty bucket's first token.
    assert clock.now - 1000.0 == pytest.approx(3.01)


async def test_a_pause_holds_back_a_request_already_waiting() -> None:
    clock = ManualClock()
    bucket = bucket_on(clock, 1.0, burst=1.0)
    await bucket.acquire()
    # Another request's 429 arrives while this one waits for its token.
    clock.after_next_sleep = lambda: bucket.pause(5.0)
    await bucket.acquire()
    assert clock.now - 1000.0 == pytest.approx(1.0 + 5.0 + 1.0)


async def test_the_rate_can_be_divided_among_replicas() -> None:
    clock = ManualClock()
    bucket = bucket_on(clock, 10.0, burst=1.0)
    await bucket.acquire()
    bucket.set_rate(5.0)
    assert bucket.rate == 5.0
    for _ in range(5):
        await bucket.acquire()
    assert clock.now - 1000.0 == pytest.approx(1.0)


async def test_waiters_are_served_in_arrival_order_at_the_rate() -> None:
    clock = ManualClock()
    bucket = bucket_on(clock, 2.0, burst=1.0)
    served: list[tuple[int, float]] = []

    async def request(n: int) -> None:
        await bucket.acquire()
        served.append((n, clock.now - 1000.0))

    await asyncio.gather(*(request(n) for n in range(5)))
    assert served == [(n, pytest.approx(n * 0.5)) for n in range(5)]


@pytest.mark.parametrize("step", [0.0, 0.5, 1.0 - 1e-12])
async def test_a_coarse_or_inexact_clock_makes_no_one_wait_twice(step: float) -> None:
    # A late or early wake-up (the clock moved by less than the wait, or not at all): the caller
    # still takes its token after one wait, and the next one waits from that token on.
    start = 1_700_000_000.0
    clock = ManualClock(start=start, step=step)
    bucket = bucket_on(clock, 3.0, burst=1.0)
    for _ in range(4):
        await bucket.acquire()
    assert len(clock.slept) == 3
    clock.now = start + 1.0  # four tokens by then, whatever the clock did: the fifth is due later
    assert bucket.try_take() == pytest.approx(1 / 3)


async def test_a_late_wake_up_keeps_what_it_saved_up() -> None:
    clock = ManualClock(step=3.0)  # every wait lasts three times as long as asked
    bucket = bucket_on(clock, 1.0, burst=2.0)
    await bucket.acquire()
    await bucket.acquire()
    await bucket.acquire()  # asks 1 s, wakes after 3 s: the 2 s over refill one token
    assert clock.slept == [pytest.approx(1.0)]
    await bucket.acquire()
    assert clock.slept == [pytest.approx(1.0)]


# -- answering 429 (the simulators) ----------------------------------------------------------


def test_try_take_answers_how_long_until_a_token() -> None:
    clock = ManualClock(start=0.0)
    bucket = bucket_on(clock, 2.0, burst=2.0)
    assert [bucket.try_take() for _ in range(3)] == [0.0, 0.0, pytest.approx(0.5)]
    clock.advance(0.5)
    assert bucket.try_take() == 0.0
    assert bucket.try_take() == pytest.approx(0.5)


def test_try_take_counts_a_pause_in() -> None:
    clock = ManualClock(start=0.0)
    bucket = bucket_on(clock, 2.0, burst=2.0)
    bucket.pause(3.0)
    clock.advance(1.0)
    assert bucket.try_take() == pytest.approx(2.0 + 0.5)
    clock.advance(2.5)
    assert bucket.try_take() == 0.0


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(10.0, burst=0.5)
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(10.0).set_rate(-1.0)
