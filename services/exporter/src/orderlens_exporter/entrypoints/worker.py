"""The worker loop: claim due exports up to this process's capacity, run them, sweep.

It wakes up on a new request (the Kafka consumer sets `wake`), when one of its exports ends
(a slot is free), and every `poll_seconds` regardless, so that exports queued behind a shop's
cap, retried after a delay or left by a dead worker are found without any event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from orderlens.consumer import Backoff
from orderlens.lifecycle import cancel_and_wait
from orderlens_exporter.service import ExportService

log = logging.getLogger("orderlens.exporter")


class Worker:
    def __init__(
        self,
        service: ExportService,
        *,
        capacity: int,
        poll_seconds: float,
        sweep_seconds: float,
    ) -> None:
        self.service = service
        self.capacity = capacity
        self.poll_seconds = poll_seconds
        self.sweep_seconds = sweep_seconds
        self.wake = asyncio.Event()
        self._tasks: set[asyncio.Task[object]] = set()
        self._stopping = False
        self._backoff = Backoff(base=0.5, cap=15.0)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def run_forever(self) -> None:
        last_sweep = float("-inf")
        failures = 0
        while not self._stopping:
            self.wake.clear()
            try:
                await self._fill()
                if time.monotonic() - last_sweep >= self.sweep_seconds:
                    await self.service.sweep()
                    last_sweep = time.monotonic()
                failures = 0
                timeout = self.poll_seconds
            except Exception as exc:
                log.warning("export worker iteration failed: %s: %s", type(exc).__name__, exc)
                timeout = self._backoff.delay(failures)
                failures += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    async def _fill(self) -> None:
        while len(self._tasks) < self.capacity and not self._stopping:
            record = await self.service.claim_next()
            if record is None:
                return
            task: asyncio.Task[object] = asyncio.create_task(self.service.run(record))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("export task crashed", exc_info=task.exception())
        self.wake.set()

    async def stop(self) -> None:
        """Stop claiming; hand the running exports back (queued) for another worker."""
        self._stopping = True
        self.wake.set()
        await cancel_and_wait(*self._tasks)
