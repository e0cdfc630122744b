"""Polling with a deadline: the one wait helper of the tests (and of anything that must wait for
an effect it cannot subscribe to). Waiting for a condition, never for a fixed time, is what makes
a check both fast and able to fail; to show that something did *not* happen, wait for a later
marker's effect instead (docs/architecture.md, "Tests")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def wait_for(
    condition: Callable[[], Awaitable[bool]], within: float, what: str, every: float = 0.1
) -> None:
    """Return once `condition()` is true; raise AssertionError naming `what` after `within` s."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(every)
