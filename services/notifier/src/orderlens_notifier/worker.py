"""One asyncio task per subscription (its own queue), started and stopped as subscriptions come
and go; a replay requested through the API (`replay_requested_at`) is carried out here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from orderlens_notifier.adapters.store import MongoStore
from orderlens_notifier.service import RetryPolicy, Send, Subscription, deliver_due, replay

log = logging.getLogger("orderlens.notifier")


class Dispatcher:
    def __init__(
        self,
        store: MongoStore,
        send: Send,
        policy: RetryPolicy,
        *,
        poll_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._send = send
        self._policy = policy
        self._poll = poll_seconds
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._wake: dict[str, asyncio.Event] = {}

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions.values())

    def wake_all(self) -> None:
        for event in self._wake.values():
            event.set()

    async def refresh(self) -> None:
        current = {s.id: s for s in await self._store.subscriptions()}
        for gone in set(self._tasks) - set(current):
            self._tasks.pop(gone).cancel()
            self._wake.pop(gone, None)
        for sub_id, subscription in current.items():
            requested = subscription.replay_requested_at
            if requested is not None and await self._store.mark_replayed(sub_id, requested):
                count = await replay(self._store, sub_id, self._clock())
                log.info("replayed parked deliveries", extra={"subscription": sub_id, "n": count})
            self._subscriptions[sub_id] = subscription
            if sub_id not in self._tasks:
                self._wake[sub_id] = asyncio.Event()
                self._tasks[sub_id] = asyncio.create_task(self._drain(sub_id))
            self._wake[sub_id].set()
        for gone in set(self._subscriptions) - set(current):
            del self._subscriptions[gone]

    async def _drain(self, sub_id: str) -> None:
        wake = self._wake[sub_id]
        while True:
            try:
                subscription = self._subscriptions.get(sub_id)
                while subscription is not None and await deliver_due(
                    self._store, subscription, self._send, self._policy, self._clock()
                ):
                    subscription = self._subscriptions.get(sub_id)
            except Exception:  # a database outage: keep the queue, try again after a pause
                log.exception("delivery loop failed", extra={"subscription": sub_id})
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._poll)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception("could not read the subscriptions")
            await asyncio.sleep(self._poll)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
