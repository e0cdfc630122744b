"""Polling with a deadline: the one wait helper of the tests (and of anything that must wait for
an effect it cannot subscribe to). Waiting for a condition, never for a fixed time, is what makes
a check both fast and able to fail; to show that something did *not* happen, wait for a later
marker's effect instead (docs/architecture.md, "Tests")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

ANSWER_GRACE = 5.0  # s a check may still take once the deadline has passed


async def wait_for(
    condition: Callable[[], Awaitable[bool]], within: float, what: str, every: float = 0.1
) -> None:
    """Return once `condition()` is true; raise AssertionError naming `what` after `within` s.

    A check that does not answer fails the same way, `within` s (plus `ANSWER_GRACE`) on:
    unbounded, one hung request made a CI run wait for the test's 600 s timeout with no word of
    what it was waiting for."""
    deadline = time.monotonic() + within
    while True:
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0) + ANSWER_GRACE):
                if await condition():
                    return
        except TimeoutError as exc:
            raise AssertionError(
                f"not within {within}s: {what} (the check did not answer)"
            ) from exc
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(every)
