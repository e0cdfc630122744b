"""What counts as a change, the events it becomes, and when to poll again."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from orderlens.domain.status import TrackingStatus
from orderlens.events import CheckpointData, StatusSource, decode, encode
from orderlens_tracker.domain import (
    Package,
    TrackingSnapshot,
    diff,
    event_id,
    next_poll,
    shard_of,
    status_event,
)

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PACKAGE = Package("9400111899223344556677", "576461413038785752", "7000000001", "pkg-1", "usps")


def cp(hours: float, status: TrackingStatus, message: str = "scan") -> CheckpointData:
    return CheckpointData(
        at=T0 + timedelta(hours=hours), status=status, message=message, location="Memphis, TN, US"
    )


def snap(
    status: TrackingStatus, *checkpoints: CheckpointData, eta: float | None = 72
) -> TrackingSnapshot:
    estimate = None if eta is None else T0 + timedelta(hours=eta)
    return TrackingSnapshot(PACKAGE.tracking_number, status, tuple(checkpoints), estimate)


INFO = cp(0, TrackingStatus.INFO_RECEIVED, "Label created")
PICKED = cp(5, TrackingStatus.IN_TRANSIT, "Picked up")


def test_the_first_answer_with_information_is_a_change() -> None:
    change = diff(None, snap(TrackingStatus.INFO_RECEIVED, INFO))
    assert change is not None
    assert change.snapshot.checkpoints == (INFO,)


def test_an_answer_without_information_is_not() -> None:
    assert diff(None, snap(TrackingStatus.PENDING, eta=None)) is None
    known = snap(TrackingStatus.IN_TRANSIT, INFO, PICKED)
    assert diff(known, snap(TrackingStatus.PENDING, eta=None)) is None


def test_the_same_answer_again_is_not() -> None:
    known = snap(TrackingStatus.IN_TRANSIT, INFO, PICKED)
    assert diff(known, snap(TrackingStatus.IN_TRANSIT, PICKED, INFO)) is None


@pytest.mark.parametrize(
    ("current", "reason"),
    [
        (
            snap(TrackingStatus.IN_TRANSIT, INFO, PICKED, cp(9, TrackingStatus.IN_TRANSIT)),
            "checkpoint",
        ),
        (snap(TrackingStatus.EXCEPTION, INFO, PICKED), "status"),
        (snap(TrackingStatus.IN_TRANSIT, INFO, PICKED, eta=96), "estimate"),
    ],
)
def test_a_new_checkpoint_status_or_estimate_is_a_change(
    current: TrackingSnapshot, reason: str
) -> None:
    change = diff(snap(TrackingStatus.IN_TRANSIT, INFO, PICKED), current)
    assert change is not None
    assert change.reasons == (reason,)


def test_checkpoints_accumulate_even_when_the_carrier_forgets_one() -> None:
    known = snap(TrackingStatus.IN_TRANSIT, INFO, PICKED)
    later = cp(20, TrackingStatus.OUT_FOR_DELIVERY, "Out for delivery")
    change = diff(known, snap(TrackingStatus.OUT_FOR_DELIVERY, PICKED, later))
    assert change is not None
    assert change.snapshot.checkpoints == (INFO, PICKED, later)


def test_a_snapshot_read_back_from_mongodb_equals_the_fresh_one() -> None:
    # MongoDB keeps milliseconds; a carrier time with microseconds must not look new.
    fresh = CheckpointData(at=T0 + timedelta(microseconds=123456), status=TrackingStatus.IN_TRANSIT)
    stored = CheckpointData(
        at=T0 + timedelta(microseconds=123000), status=TrackingStatus.IN_TRANSIT
    )
    assert (
        diff(snap(TrackingStatus.IN_TRANSIT, stored), snap(TrackingStatus.IN_TRANSIT, fresh))
        is None
    )


def test_the_event_is_a_carrier_package_update_that_order_ingest_can_apply() -> None:
    snapshot = snap(TrackingStatus.IN_TRANSIT, INFO, PICKED)
    event = status_event(PACKAGE, snapshot, T0 + timedelta(hours=6))
    again = decode(encode(event))
    assert again.subject == PACKAGE.order_id
    assert again.data.source == StatusSource.CARRIER
    assert again.data.status is None
    assert again.data.occurred_at == PICKED.at
    package = again.data.package
    assert package.tracking_status == TrackingStatus.IN_TRANSIT
    assert package.package_id == "pkg-1"
    assert package.carrier == "usps"
    assert [c.message for c in package.checkpoints] == ["Label created", "Picked up"]


def test_event_ids_depend_only_on_what_changed() -> None:
    snapshot = snap(TrackingStatus.IN_TRANSIT, INFO, PICKED)
    first = status_event(PACKAGE, snapshot, T0)
    resent = status_event(PACKAGE, snapshot, T0 + timedelta(minutes=5))
    assert first.id == resent.id
    assert event_id(PACKAGE, snapshot) != event_id(PACKAGE, snap(TrackingStatus.IN_TRANSIT, INFO))


def test_polling_stops_at_final_states_and_spreads_otherwise() -> None:
    rng = random.Random(1)
    for final in (
        TrackingStatus.DELIVERED,
        TrackingStatus.RETURNED_TO_SENDER,
        TrackingStatus.EXPIRED,
    ):
        assert next_poll(final, T0, 3600, rng) is None
    dues = {next_poll(TrackingStatus.IN_TRANSIT, T0, 3600, rng) for _ in range(20)}
    assert all(
        d is not None and T0 + timedelta(seconds=3240) <= d <= T0 + timedelta(seconds=3960)
        for d in dues
    )
    assert len(dues) > 1


def test_shards_are_stable_and_spread() -> None:
    assert shard_of("9400111899223344556677", 64) == shard_of("9400111899223344556677", 64)
    shards = {shard_of(f"TN{i:08d}", 64) for i in range(2000)}
    assert shards == set(range(64))
