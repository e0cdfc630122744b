"""What the simulator counts, for tests and benchmarks to check from outside (`GET /_stats`)."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Any


class SimulatorStats:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        self.started = self._clock()
        self.requests = 0
        self.accepted = 0
        self.over_limit = 0
        self.throttled_injected = 0
        self.errors_injected = 0
        self.bad_requests = 0
        self.numbers_polled = 0
        self.polls_per_number: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.concurrent_polls = 0
        self.max_in_flight_per_number = 0
        self.duplicates_in_request = 0
        self._recent: deque[float] = deque()
        self.peak_requests_1s = 0
        self.first_accepted_at: float | None = None
        self.last_accepted_at: float | None = None

    def arrived(self) -> None:
        now = self._clock()
        self.requests += 1
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        self.peak_requests_1s = max(self.peak_requests_1s, len(self._recent))

    def polling(self, numbers: Iterable[str]) -> list[str]:
        """Mark these numbers in flight; return them for `done`."""
        now = self._clock()
        self.accepted += 1
        self.first_accepted_at = self.first_accepted_at or now
        self.last_accepted_at = now
        marked = list(numbers)
        self.duplicates_in_request += len(marked) - len(set(marked))
        for number in marked:
            if self.in_flight[number] > 0:
                self.concurrent_polls += 1
            self.in_flight[number] += 1
            self.max_in_flight_per_number = max(
                self.max_in_flight_per_number, self.in_flight[number]
            )
            self.polls_per_number[number] += 1
        self.numbers_polled += len(marked)
        return marked

    def done(self, numbers: Iterable[str]) -> None:
        for number in numbers:
            self.in_flight[number] -= 1
            if self.in_flight[number] <= 0:
                del self.in_flight[number]

    def snapshot(self, rate_limit: float | None, *, per_number: bool = False) -> dict[str, Any]:
        window = None
        if self.first_accepted_at is not None and self.last_accepted_at is not None:
            window = self.last_accepted_at - self.first_accepted_at
        data: dict[str, Any] = {
            "uptime_seconds": round(self._clock() - self.started, 3),
            "rate_limit": rate_limit,
            "requests": self.requests,
            "accepted": self.accepted,
            "over_limit": self.over_limit,
            "throttled_injected": self.throttled_injected,
            "errors_injected": self.errors_injected,
            "bad_requests": self.bad_requests,
            "numbers_polled": self.numbers_polled,
            "distinct_numbers": len(self.polls_per_number),
            "concurrent_polls": self.concurrent_polls,
            "max_in_flight_per_number": self.max_in_flight_per_number,
            "duplicates_in_request": self.duplicates_in_request,
            "in_flight_now": sum(self.in_flight.values()),
            "peak_requests_1s": self.peak_requests_1s,
            "accepted_window_seconds": None if window is None else round(window, 3),
        }
        if per_number:
            data["polls_per_number"] = dict(self.polls_per_number)
        return data
