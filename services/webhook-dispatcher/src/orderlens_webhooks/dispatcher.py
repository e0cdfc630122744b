"""The delivery side: one worker task per subscription this replica holds (decision 0170).

Each subscription's queue is worked by one task on one replica (its lease), so a slow or failing
subscriber only ever occupies its own task; within it, up to `concurrency` attempts run at once,
each for a different order id, and an order id's next delivery waits until the one before it was
delivered (or parked). A MongoDB outage makes a worker log, wait and try again: nothing is lost,
the queue is in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from orderlens.lifecycle import cancel_and_wait
from orderlens.webhooks import RetrySchedule, SecretBox, Subscription

from .adapters.deliveries import DeliveryStore
from .adapters.leases import SubscriptionLeases
from .adapters.subscriptions import SubscriptionReader
from .service import Sender, attempt, due_heads

log = logging.getLogger("orderlens.webhooks.dispatcher")


@dataclass(frozen=True)
class DispatchConfig:
    schedule: RetrySchedule
    concurrency: int = 4
    scan_limit: int = 500
    poll_seconds: float = 1.0
    lease_seconds: float = 30.0


class Dispatcher:
    def __init__(
        self,
        *,
        subscriptions: SubscriptionReader,
        deliveries: DeliveryStore,
        leases: SubscriptionLeases,
        sender: Sender,
        box: SecretBox,
        config: DispatchConfig,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.subscriptions = subscriptions
        self.deliveries = deliveries
        self.leases = leases
        self.sender = sender
        self.box = box
        self.config = config
        self._clock = clock
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._wakes: dict[str, asyncio.Event] = {}
        self._rebalance = asyncio.Event()
        self._stopping = False
        self._rng = random.Random()
        self._cache: dict[str, tuple[float, Subscription | None]] = {}

    def wake(self, subscription_ids: set[str]) -> None:
        """New work was queued: the workers concerned look now instead of at their next poll
        (and a subscription not worked yet here is looked for at once)."""
        for sid in subscription_ids:
            event = self._wakes.get(sid)
            if event is None:
                self._rebalance.set()
            else:
                event.set()

    async def run_forever(self) -> None:
        period = self.config.lease_seconds / 3
        while not self._stopping:
            try:
                await self.rebalance()
            except Exception as exc:
                log.warning("could not renew or take subscription leases (%s); retrying", exc)
            self._rebalance.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._rebalance.wait(), period)

    async def rebalance(self) -> None:
        """Renew the leases held, stop workers of lost or removed subscriptions, take free ones.
        (Every replica takes what is free: the first to look works it; decision 0170.)"""
        for sid in list(self.leases.held):
            if not await self.leases.renew(sid):
                log.warning("lost the lease of subscription %s", sid)
        active = {s.id for s in await self.subscriptions.active()}
        for sid, task in list(self._workers.items()):
            if task.done() or sid not in self.leases.held or sid not in active:
                await self._stop_worker(sid)
                if sid not in active:
                    await self.leases.release(sid)
        for sid in sorted(active - set(self._workers)):
            if sid in self.leases.held or await self.leases.take(sid):
                self._wakes[sid] = asyncio.Event()
                self._workers[sid] = asyncio.create_task(self._work(sid), name=f"webhooks-{sid}")

    async def _stop_worker(self, sid: str) -> None:
        task = self._workers.pop(sid, None)
        self._wakes.pop(sid, None)
        if task is not None:
            await cancel_and_wait(task)

    async def stop(self) -> None:
        self._stopping = True
        self._rebalance.set()
        for sid in list(self._workers):
            await self._stop_worker(sid)
        for sid in list(self.leases.held):
            with contextlib.suppress(Exception):
                await self.leases.release(sid)

    async def _work(self, sid: str) -> None:
        """Keep up to `concurrency` attempts in flight, each for another order id; look for
        more as soon as one ends, new work is queued (wake) or a retry falls due."""
        failures = 0
        in_flight: dict[str, asyncio.Task[str]] = {}
        try:
            while self.leases.holds(sid):
                wake = self._wakes[sid]
                wake.clear()
                try:
                    pause = await self._round(sid, in_flight)
                except Exception as exc:
                    failures += 1
                    pause = self._backoff(failures)
                    log.warning("webhook worker of %s failed (%s); retrying", sid, exc)
                woken = asyncio.ensure_future(wake.wait())
                try:
                    await asyncio.wait(
                        {woken, *in_flight.values()},
                        timeout=pause,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    woken.cancel()
                for order_id, task in list(in_flight.items()):
                    if not task.done():
                        continue
                    del in_flight[order_id]
                    if task.exception() is not None:
                        # MongoDB unreachable mid-attempt: the delivery is still pending.
                        failures += 1
                        log.warning("webhook attempt of %s failed: %s", sid, task.exception())
                        await asyncio.sleep(self._backoff(failures))
                    else:
                        failures = 0
        finally:
            await cancel_and_wait(*in_flight.values())

    def _backoff(self, failures: int) -> float:
        return min(30.0, 0.5 * 2.0 ** min(failures, 6)) * self._rng.uniform(0.5, 1.0)

    async def _subscription(self, sid: str) -> Subscription | None:
        """The subscription as stored, read again at most every poll interval: a changed URL,
        secret or pause takes effect within that, and a busy queue saves a read per round."""
        cached = self._cache.get(sid)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.config.poll_seconds:
            return cached[1]
        subscription = await self.subscriptions.get(sid)
        self._cache[sid] = (now, subscription)
        return subscription

    async def _round(self, sid: str, in_flight: dict[str, asyncio.Task[str]]) -> float:
        """Start the attempts that are due and fit; answer how long to wait at most before
        the next look (an attempt ending or a wake comes first)."""
        subscription = await self._subscription(sid)
        if subscription is None or not subscription.active:
            return self.config.poll_seconds
        free = self.config.concurrency - len(in_flight)
        if free <= 0:
            return self.config.poll_seconds
        now = self._clock()
        pending = await self.deliveries.pending(sid, self.config.scan_limit, now)
        # An order with an attempt in flight is skipped whole: its next one waits for it.
        heads = due_heads([d for d in pending if d.order_id not in in_flight], now)
        chosen = heads.due[:free]
        if chosen:
            secret = self.box.open(subscription.secret_cipher)
            for d in await self.deliveries.with_bodies(chosen):
                in_flight[d.order_id] = asyncio.create_task(
                    attempt(
                        d,
                        subscription,
                        secret,
                        sender=self.sender,
                        queue=self.deliveries,
                        schedule=self.config.schedule,
                        now=self._clock(),
                        rng=self._rng,
                    )
                )
        pause = self.config.poll_seconds
        if heads.next_due_at is not None:
            pause = min(pause, max(0.0, (heads.next_due_at - now).total_seconds()))
        return max(pause, 0.01)
