"""Run a service until SIGTERM / SIGINT, in every state (issue 17 #9, decision 0076).

A service that waits for its database or broker at start-up retries inside `start()`; waiting
for `start()` to return before listening for the signal ignored SIGTERM for as long as the
outage lasted. Here the signal cancels a start-up still in progress, then `stop()` runs: it must
cope with a half-started service (the services' `stop()` methods do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

log = logging.getLogger("orderlens.lifecycle")


async def run_until_signalled(
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    stopping: asyncio.Event | None = None,
) -> None:
    stopping = stopping or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping.set)
    starting = asyncio.ensure_future(start())
    signalled = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({starting, signalled}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        else:
            starting.result()  # a start-up that failed for good raises here
            await signalled
    finally:
        signalled.cancel()
        await stop()


async def until_done(
    what: str,
    action: Callable[[], Awaitable[object]],
    *,
    base_seconds: float = 0.5,
    cap_seconds: float = 10.0,
) -> None:
    """Retry a start-up step (create indexes, connect to Kafka, announce a replica) until it
    succeeds, backing off exponentially up to `cap_seconds`. It never gives up: the process
    waits for its dependencies, and a SIGTERM meanwhile cancels it (`run_until_signalled`)."""
    attempt = 0
    while True:
        try:
            await action()
            return
        except Exception as exc:
            delay = min(cap_seconds, base_seconds * 2 ** min(attempt, 30))
            log.warning("could not %s, retrying in %.1fs: %s", what, delay, exc)
            await asyncio.sleep(delay)
            attempt += 1
