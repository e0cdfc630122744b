"""A clock for unit tests that moves only when told to; `sleep` moves it instead of waiting."""

from __future__ import annotations

from collections.abc import Callable


class ManualClock:
    """`sleep` moves the clock by `step` of what it is asked (1: exactly; less: an early or coarse
    wake-up), then runs `after_next_sleep` once if set (something that happens meanwhile)."""

    def __init__(self, start: float = 1000.0, step: float = 1.0) -> None:
        self.now = start
        self.step = step
        self.slept: list[float] = []
        self.after_next_sleep: Callable[[], None] | None = None

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds * self.step
        hook, self.after_next_sleep = self.after_next_sleep, None
        if hook is not None:
            hook()
