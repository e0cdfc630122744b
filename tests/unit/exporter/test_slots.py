"""When a per-shop slot still belongs to a running export, and when it may be freed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderlens_exporter.adapters.slots import Slot, slot_is_live

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(seconds=60)


def slot(attempt: int = 2, taken: timedelta = timedelta(minutes=5)) -> Slot:
    return Slot("shop#0", "shop", "exp-1", attempt, NOW - taken)


def holder(**changes: object) -> dict[str, object]:
    return {
        "status": "running",
        "attempts": 2,
        "lease_expires_at": NOW + timedelta(seconds=30),
        **changes,
    }


def test_a_slot_of_the_running_attempt_under_a_live_lease_is_live() -> None:
    assert slot_is_live(slot(), holder(), now=NOW, grace=GRACE)


def test_a_slot_just_taken_is_live_whatever_its_record_says() -> None:
    assert slot_is_live(slot(taken=timedelta(seconds=5)), None, now=NOW, grace=GRACE)


def test_a_slot_is_stale_once_its_attempt_no_longer_runs_under_a_live_lease() -> None:
    for record in (
        None,  # the record is gone
        holder(status="succeeded"),  # finished, the worker died before releasing
        holder(attempts=3),  # a later attempt took over
        holder(lease_expires_at=NOW - timedelta(seconds=1)),  # the worker stopped renewing
        holder(lease_expires_at=None),
    ):
        assert not slot_is_live(slot(), record, now=NOW, grace=GRACE), record
