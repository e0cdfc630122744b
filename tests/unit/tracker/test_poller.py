"""The polling service with in-memory fakes: what is published, saved and rescheduled."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from orderlens.domain.status import TrackingStatus
from orderlens.events import CheckpointData, CloudEvent, StatusChanged
from orderlens.ratelimit import TokenBucket
from orderlens_tracker.adapters.base import CarrierRejected, Parcel, TrackResult
from orderlens_tracker.adapters.breaker import BreakerOpen, CircuitBreaker
from orderlens_tracker.adapters.jobs import Job
from orderlens_tracker.adapters.leases import Lease, Rebalance
from orderlens_tracker.adapters.transport import CarrierUnavailable
from orderlens_tracker.domain import Package, TrackingSnapshot
from orderlens_tracker.services.poller import Poller
from orderlens_tracker.services.schedule import ScheduledJob
from orderlens_tracker.settings import TrackerSettings

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def snapshot(number: str, status: TrackingStatus, hours: int) -> TrackingSnapshot:
    checkpoints = tuple(
        CheckpointData(
            at=T0 + timedelta(hours=h), status=TrackingStatus.IN_TRANSIT, message=f"scan {h}"
        )
        for h in range(hours)
    )
    return TrackingSnapshot(number, status, checkpoints, T0 + timedelta(days=3))


class FakeAdapter:
    provider = "fake"
    max_batch = 40

    def __init__(self) -> None:
        self.answers: dict[str, TrackingSnapshot] = {}
        self.error: Exception | None = None
        self.asked: list[list[str]] = []

    async def track(self, parcels: Sequence[Parcel]) -> TrackResult:
        self.asked.append([p.tracking_number for p in parcels])
        if self.error is not None:
            raise self.error
        return TrackResult(
            {
                p.tracking_number: self.answers[p.tracking_number]
                for p in parcels
                if p.tracking_number in self.answers
            }
        )


class FakeJobs:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = {j.package.tracking_number: j for j in jobs}
        self.saved: list[tuple[str, TrackingStatus, datetime | None]] = []
        self.fail_saves = False

    async def load(self, shards: Iterable[int]) -> list[Job]:
        wanted = set(shards)
        return [j for j in self.jobs.values() if j.shard in wanted and j.active]

    async def changed_since(self, shards: Iterable[int], since: datetime) -> list[Job]:
        return []

    async def save_many(
        self, changes: Sequence[tuple[str, TrackingSnapshot, datetime | None]], now: datetime
    ) -> None:
        if self.fail_saves:
            raise ConnectionError("database down")
        self.saved.extend((number, snapshot.status, due) for number, snapshot, due in changes)


class FakeLeases:
    def __init__(self) -> None:
        self._owned: dict[int, Lease] = {}
        self.next = Rebalance(gained=set(), lost=set(), live_replicas=1)

    @property
    def owned(self) -> Mapping[int, Lease]:
        return self._owned

    def valid_for(self, shard: int, seconds: float) -> bool:
        return shard in self._owned

    async def heartbeat(self) -> int:
        return self.next.live_replicas

    async def rebalance(self, busy: Callable[[int], bool]) -> Rebalance:
        for shard in self.next.gained:
            self._owned[shard] = Lease(shard, 1, "me", T0 + timedelta(days=1))
        for shard in self.next.lost:
            self._owned.pop(shard, None)
        return self.next

    async def leave(self) -> None:
        self._owned.clear()


class Harness:
    def __init__(self, jobs: list[Job]) -> None:
        self.settings = TrackerSettings(carrier_rate_limit=40.0, shards=4)
        self.adapter = FakeAdapter()
        self.jobs = FakeJobs(jobs)
        self.leases = FakeLeases()
        self.published: list[CloudEvent[StatusChanged]] = []
        self.publish_error: Exception | None = None
        self.limiter = TokenBucket(40.0, burst=1.0)
        self.poller = Poller(
            self.settings,
            adapter=self.adapter,
            store=self.jobs,
            leases=self.leases,
            breaker=CircuitBreaker("fake"),
            limiter=self.limiter,
            publish=self.publish,
        )

    async def publish(self, event: CloudEvent[StatusChanged]) -> None:
        if self.publish_error is not None:
            raise self.publish_error
        self.published.append(event)

    async def take_shards(self, shards: set[int], live: int = 1) -> None:
        self.leases.next = Rebalance(gained=shards, lost=set(), live_replicas=live)
        await self.poller.coordinate()

    def due(self) -> list[ScheduledJob]:
        return self.poller.schedule.take_due(1e12, 40, lambda _: True)


def number_of(event: CloudEvent[StatusChanged]) -> str:
    package = event.data.package
    assert package is not None
    assert package.tracking_number is not None
    return package.tracking_number


def job(number: str, shard: int = 0, known: TrackingSnapshot | None = None) -> Job:
    return Job(Package(number, f"order-{number}", "shop"), shard, True, known, None)


async def test_taking_shards_loads_their_jobs_and_divides_the_rate() -> None:
    harness = Harness([job("A", 0), job("B", 1), job("C", 2)])
    await harness.take_shards({0, 1}, live=4)
    assert sorted(harness.poller.schedule.jobs) == ["A", "B"]
    assert harness.limiter.rate == pytest.approx(10.0)
    harness.leases.next = Rebalance(gained=set(), lost={0}, live_replicas=2)
    await harness.poller.coordinate()
    assert sorted(harness.poller.schedule.jobs) == ["B"]
    assert harness.limiter.rate == pytest.approx(20.0)


async def test_changes_are_published_then_saved_and_silence_is_not() -> None:
    known = snapshot("B", TrackingStatus.IN_TRANSIT, 2)
    harness = Harness([job("A"), job("B", known=known), job("C")])
    await harness.take_shards({0})
    harness.adapter.answers = {
        "A": snapshot("A", TrackingStatus.IN_TRANSIT, 3),
        "B": known,  # nothing new
        "C": snapshot("C", TrackingStatus.DELIVERED, 4),
    }
    await harness.poller.poll(harness.due())
    assert sorted(number_of(e) for e in harness.published) == ["A", "C"]
    saved = {number: (status, due) for number, status, due in harness.jobs.saved}
    assert saved["A"][0] == TrackingStatus.IN_TRANSIT
    assert saved["A"][1] is not None
    assert saved["C"] == (TrackingStatus.DELIVERED, None), "a final state ends the job"
    assert sorted(harness.poller.schedule.jobs) == ["A", "B"]


async def test_a_failed_poll_retries_later_without_events() -> None:
    harness = Harness([job("A"), job("B")])
    await harness.take_shards({0})
    harness.adapter.error = CarrierUnavailable("503 after 3 attempts")
    await harness.poller.poll(harness.due())
    assert harness.published == []
    assert all(j.attempts == 1 and not j.in_flight for j in harness.poller.schedule.jobs.values())
    harness.adapter.error = CarrierRejected("bad key")
    await harness.poller.poll(harness.due())
    assert all(j.attempts == 2 for j in harness.poller.schedule.jobs.values())


async def test_an_open_breaker_postpones_without_counting_a_failure() -> None:
    harness = Harness([job("A")])
    await harness.take_shards({0})
    harness.adapter.error = BreakerOpen("fake", 12.0)
    before = harness.poller.schedule.jobs["A"].due
    await harness.poller.poll(harness.due())
    scheduled = harness.poller.schedule.jobs["A"]
    assert scheduled.attempts == 0
    assert scheduled.due - before >= 12.0


async def test_a_change_that_could_not_be_published_is_published_again_with_the_same_id() -> None:
    harness = Harness([job("A")])
    await harness.take_shards({0})
    harness.adapter.answers = {"A": snapshot("A", TrackingStatus.IN_TRANSIT, 2)}
    harness.publish_error = ConnectionError("broker down")
    await harness.poller.poll(harness.due())
    assert harness.jobs.saved == []
    assert harness.poller.schedule.jobs["A"].snapshot is None
    harness.publish_error = None
    await harness.poller.poll(harness.due())
    [event] = harness.published
    harness.published.clear()
    harness.poller.schedule.jobs["A"].snapshot = None  # as after a crash before the save
    await harness.poller.poll(harness.due())
    assert [e.id for e in harness.published] == [event.id]


async def test_a_change_published_but_not_saved_is_sent_again_not_lost() -> None:
    harness = Harness([job("A")])
    await harness.take_shards({0})
    harness.adapter.answers = {"A": snapshot("A", TrackingStatus.IN_TRANSIT, 2)}
    harness.jobs.fail_saves = True
    await harness.poller.poll(harness.due())
    assert harness.poller.schedule.jobs["A"].snapshot is None
    harness.jobs.fail_saves = False
    await harness.poller.poll(harness.due())
    first, again = harness.published
    assert first.id == again.id
    assert [number for number, _, _ in harness.jobs.saved] == ["A"]
