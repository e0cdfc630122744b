"""The polling loop: hold shards, poll their due parcels, publish what changed.

Tasks of one replica:
- the coordinator renews and rebalances the shard leases (`adapters/leases.py`), loads the jobs
  of shards it gains, forgets those of shards it loses, and re-divides the provider's rate limit
  by the number of live replicas;
- the refresher loads jobs the consumer created or stopped in the shards held;
- `concurrency` workers take batches of due jobs and poll them through the adapter;
- a gauge task reports jobs due and overdue.

Per parcel the order is: poll, publish the change, save the snapshot. A crash between publishing
and saving re-publishes the same event (same id) after the takeover, which consumers dedupe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from orderlens.domain.status import TrackingStatus
from orderlens.events import CloudEvent, StatusChanged
from orderlens.lifecycle import cancel_and_wait, until_done
from orderlens.ratelimit import TokenBucket
from orderlens_tracker import metrics
from orderlens_tracker.adapters.base import CarrierAdapter, CarrierRejected, Parcel
from orderlens_tracker.adapters.breaker import BreakerOpen, CircuitBreaker
from orderlens_tracker.adapters.jobs import Job
from orderlens_tracker.adapters.leases import Lease, Rebalance
from orderlens_tracker.adapters.transport import CarrierUnavailable
from orderlens_tracker.domain import TrackingSnapshot, diff, next_poll, retry_delay, status_event
from orderlens_tracker.services.schedule import Schedule, ScheduledJob
from orderlens_tracker.settings import TrackerSettings

log = logging.getLogger("orderlens.tracker.poller")

Publish = Callable[[CloudEvent[StatusChanged]], Awaitable[None]]


@dataclass(eq=False)
class Saved:
    job: ScheduledJob
    snapshot: TrackingSnapshot
    due: datetime | None
    publish: bool


class Jobs(Protocol):
    async def load(self, shards: Iterable[int]) -> list[Job]: ...

    async def changed_since(self, shards: Iterable[int], since: datetime) -> list[Job]: ...

    async def save_many(
        self, changes: Sequence[tuple[str, TrackingSnapshot, datetime | None]], now: datetime
    ) -> None: ...


class Leases(Protocol):
    @property
    def owned(self) -> Mapping[int, Lease]: ...

    def valid_for(self, shard: int, seconds: float) -> bool: ...

    async def heartbeat(self) -> int: ...

    async def rebalance(self, busy: Callable[[int], bool]) -> Rebalance: ...

    async def leave(self) -> None: ...


class Poller:
    def __init__(
        self,
        settings: TrackerSettings,
        *,
        adapter: CarrierAdapter,
        store: Jobs,
        leases: Leases,
        breaker: CircuitBreaker,
        limiter: TokenBucket,
        publish: Publish,
    ) -> None:
        self.settings = settings
        self.adapter = adapter
        self.store = store
        self.leases = leases
        self.breaker = breaker
        self.limiter = limiter
        self.publish = publish
        self.schedule = Schedule()
        self.polls = 0  # batches polled, for logs and tests
        self.events = 0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._coordinated = asyncio.Event()
        self._last_refresh: datetime | None = None

    # -- life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        # Announce this replica one renewal period before taking shards, so that the others
        # lower their share of the rate limit and release shards first.
        await until_done("announce this replica", self.leases.heartbeat)
        self._tasks = [
            asyncio.create_task(self._coordinator(), name="tracker-coordinator"),
            asyncio.create_task(self._refresher(), name="tracker-refresher"),
            asyncio.create_task(self._gauges(), name="tracker-gauges"),
            *(
                asyncio.create_task(self._worker(), name=f"tracker-worker-{i}")
                for i in range(self.settings.carrier_concurrency)
            ),
        ]

    async def stop(self, *, release: bool = True) -> None:
        """Stop polling; wait for polls in flight; give the shards back (unless crashing)."""
        self._stopping.set()
        self._wake.set()
        if self._tasks:
            # Workers finish the poll in hand (bounded by the poll budget); then the rest goes.
            await asyncio.wait(self._tasks, timeout=min(self.settings.poll_budget(), 15.0))
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        if release:
            with contextlib.suppress(Exception):
                await self.leases.leave()

    async def wait_until_coordinated(self) -> None:
        await self._coordinated.wait()

    # -- coordination ---------------------------------------------------------------------------

    def _renew_every(self) -> float:
        return self.settings.lease_seconds / 3

    async def _coordinator(self) -> None:
        await self._sleep(self._renew_every())
        while not self._stopping.is_set():
            # A lease not renewed in time is lost: retry a failed round at once, not next time.
            for attempt in range(5):
                try:
                    await self.coordinate()
                    break
                except Exception as exc:
                    log.warning("lease coordination failed, retrying: %s", exc)
                    await self._sleep(retry_delay(attempt, 0.05, 1.0))
            self._coordinated.set()
            await self._sleep(self._renew_every())

    async def coordinate(self) -> None:
        busy = self.schedule.in_flight_shards()
        result = await self.leases.rebalance(lambda shard: shard in busy)
        self.limiter.set_rate(self.settings.rate_limit() / result.live_replicas)
        owned = set(self.leases.owned)
        self.schedule.drop_shards({job.shard for job in self.schedule.jobs.values()} - owned)
        if result.gained:
            jobs = await self.store.load(result.gained)
            self._add(jobs)
            log.info(
                "took shards",
                extra={"shards": len(result.gained), "jobs": len(jobs), "owned": len(owned)},
            )
        metrics.SHARDS_OWNED.set(len(owned))

    async def _refresher(self) -> None:
        while not self._stopping.is_set():
            await self._sleep(self.settings.refresh_seconds)
            try:
                await self.refresh()
            except Exception:
                log.exception("loading new jobs failed; retrying")

    async def refresh(self) -> None:
        owned = set(self.leases.owned)
        if not owned:
            return
        now = datetime.now(UTC)
        # Overlapping windows: a write stamped by a replica whose clock lags is not missed.
        since = (self._last_refresh or now) - timedelta(
            seconds=self.settings.refresh_seconds * 2 + 5
        )
        self._last_refresh = now
        jobs = await self.store.changed_since(owned, since)
        for job in jobs:
            if not job.active:
                self.schedule.remove(job.package.tracking_number)
        self._add([job for job in jobs if job.active and job.shard in self.leases.owned])

    def _add(self, jobs: list[Job]) -> None:
        now = time.time()
        for job in jobs:
            due = now if job.next_due_at is None else max(now, job.next_due_at.timestamp())
            self.schedule.put(ScheduledJob(job.package, job.shard, job.snapshot, due))
        if jobs:
            self._wake.set()

    async def _gauges(self) -> None:
        while not self._stopping.is_set():
            due, overdue = self.schedule.counts(time.time(), self.settings.overdue_seconds)
            metrics.JOBS_DUE.set(due)
            metrics.JOBS_OVERDUE.set(overdue)
            metrics.JOBS_TRACKED.set(len(self.schedule))
            await self._sleep(min(5.0, self.settings.refresh_seconds))

    # -- polling --------------------------------------------------------------------------------

    async def _worker(self) -> None:
        budget = self.settings.poll_budget()
        while not self._stopping.is_set():
            retry_in = self.breaker.retry_in()
            if retry_in > 0:
                await self._sleep(min(retry_in, self.settings.idle_seconds))
                continue
            batch = self.schedule.take_due(
                time.time(),
                self.adapter.max_batch,
                lambda shard: self.leases.valid_for(shard, budget),
            )
            if not batch:
                await self._idle()
                continue
            await self.poll(batch)

    async def _idle(self) -> None:
        next_due = self.schedule.next_due()
        wait = self.settings.idle_seconds
        if next_due is not None:
            wait = max(0.0, min(wait, next_due - time.time()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait)

    async def poll(self, batch: list[ScheduledJob]) -> None:
        """Poll one batch and settle every job in it (rescheduled, finished or retried)."""
        parcels = [Parcel(job.package.tracking_number, job.package.carrier) for job in batch]
        self.polls += 1
        try:
            async with asyncio.timeout(self.settings.poll_budget()):
                result = await self.adapter.track(parcels)
        except BreakerOpen as exc:
            # In half-open, retry_in is 0 while the trial runs: do not spin on it.
            self._later(batch, max(exc.retry_in, self.settings.idle_seconds), failed=False)
            return
        except (CarrierUnavailable, TimeoutError) as exc:
            retry_in = getattr(exc, "retry_in", None)
            log.warning("poll failed: %s", exc or "timed out", extra={"parcels": len(batch)})
            self._later(batch, retry_in, failed=True)
            return
        except CarrierRejected as exc:
            log.error("carrier refused the request: %s", exc, extra={"parcels": len(batch)})
            self._later(batch, None, failed=True)
            return
        await self._settle(batch, result.snapshots, result.rejected)

    async def _settle(
        self,
        batch: list[ScheduledJob],
        snapshots: Mapping[str, TrackingSnapshot],
        rejected: Mapping[str, str],
    ) -> None:
        """Publish every change of the batch (concurrently), then save them in one write."""
        now = datetime.now(UTC)
        saves: list[Saved] = []
        quiet: list[tuple[ScheduledJob, datetime | None]] = []
        for job in batch:
            number = job.package.tracking_number
            if number in rejected:
                log.warning(
                    "carrier rejected a tracking number: %s",
                    rejected[number],
                    extra={"tracking_number": number},
                )
            snapshot = snapshots.get(number)
            change = diff(job.snapshot, snapshot) if snapshot is not None else None
            known = change.snapshot if change is not None else job.snapshot
            status = known.status if known is not None else TrackingStatus.PENDING
            due = next_poll(status, now, self.settings.cadence(status))
            if change is not None:
                saves.append(Saved(job, change.snapshot, due, publish=True))
            elif due is None and known is not None:
                # Final already, but the job was still active: end it.
                saves.append(Saved(job, known, None, publish=False))
            else:
                quiet.append((job, due))
        for job, due in quiet:
            job.attempts = 0
            self._reschedule(job, due)
        if not saves:
            return
        published = await asyncio.gather(
            *(self._publish(item, now) for item in saves if item.publish), return_exceptions=True
        )
        failures = [r for r in published if isinstance(r, BaseException)]
        if failures:
            log.warning("publishing changes failed; polling again soon: %s", failures[0])
        sent = [
            item
            for item, outcome in zip([i for i in saves if i.publish], published, strict=True)
            if not isinstance(outcome, BaseException)
        ] + [item for item in saves if not item.publish]
        self._later([i.job for i in saves if i not in sent], None, failed=True)
        if not sent:
            return
        try:
            await self.store.save_many(
                [(i.job.package.tracking_number, i.snapshot, i.due) for i in sent], now
            )
        except Exception as exc:
            # Published but not saved: the next poll finds the same change and sends the same
            # event ids again, which consumers dedupe.
            log.warning("saving changes failed; polling again soon: %s", exc)
            self._later([i.job for i in sent], None, failed=True)
            return
        for item in sent:
            if item.publish:
                self.events += 1
                metrics.EVENTS_PUBLISHED.labels(item.snapshot.status.value).inc()
            item.job.snapshot = item.snapshot
            item.job.attempts = 0
            self._reschedule(item.job, item.due)

    async def _publish(self, item: Saved, now: datetime) -> None:
        await self.publish(status_event(item.job.package, item.snapshot, now))

    def _reschedule(self, job: ScheduledJob, due: datetime | None) -> None:
        if due is None:
            self.schedule.remove(job.package.tracking_number)
            job.in_flight = False
            return
        self.schedule.reschedule(job, due.timestamp())

    def _later(self, batch: list[ScheduledJob], retry_in: float | None, *, failed: bool) -> None:
        now = time.time()
        for job in batch:
            if failed:
                job.attempts += 1
            delay = retry_in
            if delay is None:
                status = job.snapshot.status if job.snapshot else TrackingStatus.PENDING
                delay = retry_delay(
                    job.attempts, self.settings.retry_delay_seconds, self.settings.cadence(status)
                )
            self.schedule.reschedule(job, now + delay)

    # -- helpers --------------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
