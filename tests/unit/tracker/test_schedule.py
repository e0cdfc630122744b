"""The in-memory schedule of due parcels."""

from __future__ import annotations

from orderlens_tracker.domain import Package
from orderlens_tracker.services.schedule import Schedule, ScheduledJob


def job(number: str, due: float, shard: int = 0) -> ScheduledJob:
    return ScheduledJob(Package(number, "o", "s"), shard, None, due)


def numbers(jobs: list[ScheduledJob]) -> list[str]:
    return [j.package.tracking_number for j in jobs]


def test_due_jobs_come_oldest_first_up_to_the_batch_size() -> None:
    schedule = Schedule()
    for number, due in [("C", 30.0), ("A", 10.0), ("B", 20.0), ("D", 99.0)]:
        schedule.put(job(number, due))
    assert numbers(schedule.take_due(50.0, 2, lambda _: True)) == ["A", "B"]
    assert numbers(schedule.take_due(50.0, 5, lambda _: True)) == ["C"]
    assert schedule.next_due() == 99.0


def test_a_job_in_flight_is_not_taken_twice_until_rescheduled() -> None:
    schedule = Schedule()
    schedule.put(job("A", 10.0))
    [taken] = schedule.take_due(50.0, 5, lambda _: True)
    schedule.put(job("A", 0.0))  # the consumer refreshes it meanwhile
    assert schedule.take_due(50.0, 5, lambda _: True) == []
    schedule.reschedule(taken, 60.0)
    assert schedule.take_due(50.0, 5, lambda _: True) == []
    assert numbers(schedule.take_due(60.0, 5, lambda _: True)) == ["A"]


def test_jobs_of_shards_not_allowed_wait() -> None:
    schedule = Schedule()
    schedule.put(job("A", 10.0, shard=1))
    schedule.put(job("B", 10.0, shard=2))
    assert numbers(schedule.take_due(50.0, 5, lambda s: s == 2)) == ["B"]
    assert schedule.take_due(50.0, 5, lambda s: s == 2) == []
    assert numbers(schedule.take_due(51.0, 5, lambda _: True)) == ["A"]


def test_lost_shards_are_forgotten_and_counts_are_kept() -> None:
    schedule = Schedule()
    schedule.put(job("A", 10.0, shard=1))
    schedule.put(job("B", 45.0, shard=2))
    schedule.put(job("C", 99.0, shard=2))
    assert schedule.counts(now=50.0, overdue_after=30.0) == (2, 1)
    schedule.drop_shards({1})
    assert len(schedule) == 2
    assert numbers(schedule.take_due(50.0, 5, lambda _: True)) == ["B"]
    assert schedule.in_flight_shards() == {2}
