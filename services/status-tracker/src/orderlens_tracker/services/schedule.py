"""The due times of the jobs in this replica's shards, in memory (a heap).

Only the shard holder polls a job, so the schedule needs no shared state: it is rebuilt from
`tracking_jobs` when a shard is taken over, and a job's due time is written to the database
only along with a change worth saving.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from orderlens_tracker.domain import Package, TrackingSnapshot


@dataclass
class ScheduledJob:
    package: Package
    shard: int
    snapshot: TrackingSnapshot | None
    due: float
    attempts: int = 0
    in_flight: bool = False
    version: int = 0


class Schedule:
    def __init__(self) -> None:
        self.jobs: dict[str, ScheduledJob] = {}
        self._heap: list[tuple[float, int, str, int]] = []
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self.jobs)

    def put(self, job: ScheduledJob) -> None:
        """Add a job, or replace what is known of it (keeping a poll in flight in flight)."""
        current = self.jobs.get(job.package.tracking_number)
        if current is not None:
            current.package = job.package
            current.shard = job.shard
            if current.snapshot is None:
                current.snapshot = job.snapshot
            return
        self.jobs[job.package.tracking_number] = job
        self._push(job)

    def reschedule(self, job: ScheduledJob, due: float) -> None:
        job.in_flight = False
        job.due = due
        if job.package.tracking_number in self.jobs:
            self._push(job)

    def remove(self, tracking_number: str) -> None:
        self.jobs.pop(tracking_number, None)

    def drop_shards(self, shards: set[int]) -> None:
        for number in [n for n, job in self.jobs.items() if job.shard in shards]:
            del self.jobs[number]

    def in_flight_shards(self) -> set[int]:
        return {job.shard for job in self.jobs.values() if job.in_flight}

    def take_due(
        self, now: float, limit: int, allowed: Callable[[int], bool], hold_back: float = 0.5
    ) -> list[ScheduledJob]:
        """Up to `limit` due jobs of shards `allowed` to be polled, oldest first, marked in
        flight. A due job of a shard not allowed now waits `hold_back` seconds."""
        taken: list[ScheduledJob] = []
        held_back: list[ScheduledJob] = []
        while self._heap and len(taken) < limit and self._heap[0][0] <= now:
            _, _, number, version = heapq.heappop(self._heap)
            job = self.jobs.get(number)
            if job is None or job.version != version or job.in_flight:
                continue  # a stale entry: the job moved or left
            if not allowed(job.shard):
                held_back.append(job)
                continue
            job.in_flight = True
            taken.append(job)
        for job in held_back:
            job.due = now + hold_back
            self._push(job)
        return taken

    def next_due(self) -> float | None:
        while self._heap:
            due, _, number, version = self._heap[0]
            job = self.jobs.get(number)
            if job is not None and job.version == version and not job.in_flight:
                return due
            heapq.heappop(self._heap)
        return None

    def counts(self, now: float, overdue_after: float) -> tuple[int, int]:
        """(due now, due for longer than `overdue_after` seconds)."""
        due = overdue = 0
        for job in self.jobs.values():
            if job.due <= now:
                due += 1
                if job.due <= now - overdue_after:
                    overdue += 1
        return due, overdue

    def _push(self, job: ScheduledJob) -> None:
        job.version += 1
        heapq.heappush(
            self._heap, (job.due, next(self._sequence), job.package.tracking_number, job.version)
        )
