"""The circuit breaker: opens on consecutive failures, tries once after a while, closes again."""

from __future__ import annotations

import pytest
from tracker_fakes import ManualClock

from orderlens_tracker.adapters.breaker import BreakerOpen, BreakerState, CircuitBreaker


def state(breaker: CircuitBreaker) -> BreakerState:
    # A function, so that mypy does not narrow the property between two checks.
    return breaker.state


def make(clock: ManualClock) -> tuple[CircuitBreaker, list[BreakerState]]:
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(
        "carrier", failure_threshold=3, reset_seconds=10, clock=clock, on_change=changes.append
    )
    return breaker, changes


def test_consecutive_failures_open_it_and_successes_in_between_do_not(clock: ManualClock) -> None:
    breaker, _ = make(clock)
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()
    for _ in range(2):
        breaker.record_failure()
    assert state(breaker) == BreakerState.CLOSED
    breaker.record_failure()
    assert state(breaker) == BreakerState.OPEN
    with pytest.raises(BreakerOpen) as refused:
        breaker.before_request()
    assert refused.value.retry_in == pytest.approx(10)


def test_after_the_reset_time_one_trial_goes_and_its_success_closes(clock: ManualClock) -> None:
    breaker, changes = make(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(10)
    assert state(breaker) == BreakerState.HALF_OPEN
    breaker.before_request()  # the trial
    with pytest.raises(BreakerOpen):
        breaker.before_request()  # nobody else while it runs
    breaker.record_success()
    assert state(breaker) == BreakerState.CLOSED
    assert changes == [
        BreakerState.CLOSED,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


def test_a_failed_trial_opens_it_again(clock: ManualClock) -> None:
    breaker, _ = make(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(10)
    breaker.before_request()
    breaker.record_failure()
    assert state(breaker) == BreakerState.OPEN
    assert breaker.retry_in() == pytest.approx(10)
    assert breaker.opened_count == 2


def test_a_429_is_neither_success_nor_failure(clock: ManualClock) -> None:
    breaker, _ = make(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(10)
    breaker.before_request()
    breaker.record_neutral()
    assert state(breaker) == BreakerState.HALF_OPEN
    breaker.before_request()  # the trial slot is free again
