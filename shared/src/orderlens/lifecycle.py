"""Run a service until SIGTERM / SIGINT, in every state (issue 17 #9, decision 0076).

A service that waits for its database or broker at start-up retries inside `start()`; waiting
for `start()` to return before listening for the signal ignored SIGTERM for as long as the
outage lasted. Here the signal cancels a start-up still in progress, then `stop()` runs: it must
cope with a half-started service (the services' `stop()` methods do).

`cancel_and_wait` stops background tasks for good: a single `cancel()` can be lost (0229).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

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
            await cancel_and_wait(starting)
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


async def cancel_and_wait(
    *tasks: asyncio.Future[Any], within: float = 10.0, every: float = 0.25
) -> set[asyncio.Future[Any]]:
    """Cancel `tasks` and wait for them to end, cancelling again every `every` s those still
    running; returns the ones still running after `within` s (logged), never hangs.

    Why more than one `cancel()` (decision 0229): on Python 3.11 `asyncio.wait_for` returns the
    inner result instead of raising when the cancellation arrives as the inner future completes
    (CPython gh-86296, fixed in 3.12), and PyMongo's async client sends every command through
    such a `wait_for`. A cancel landing there is lost and a worker's `while True` goes on:
    measured, 34 of 500 cancels of a loop of `find()` against mongo-java-server; a CI run hung
    600 s in the TikTok stack's teardown this way."""
    running: set[asyncio.Future[Any]] = {t for t in tasks if not t.done()}
    deadline = asyncio.get_running_loop().time() + within
    while running:
        for task in running:
            task.cancel()
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            log.error("tasks still running %.0fs after their cancellation: %s", within, running)
            break
        _, running = await asyncio.wait(running, timeout=min(every, left))
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.warning("a task ended with an error while stopping: %r", task.exception())
    return running
