"""Simulated parcel journeys: reproducible, realistic, and as varied as real ones."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from orderlens.domain.status import TERMINAL_TRACKING, TrackingStatus
from orderlens_devtools.carrier_simulator.journeys import (
    DAY,
    HUBS,
    SCENARIO_WEIGHTS,
    Scenario,
    plan,
    scenario_of,
)
from orderlens_devtools.carrier_simulator.parcels import ParcelBook

numbers = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=5, max_size=30)


@given(numbers)
def test_every_journey_is_ordered_and_ends_in_a_final_state(number: str) -> None:
    journey = plan(number)
    offsets = [c.offset for c in journey.checkpoints]
    assert offsets == sorted(offsets)
    assert journey.checkpoints[0].status == TrackingStatus.INFO_RECEIVED
    assert journey.checkpoints[-1].status in TERMINAL_TRACKING
    assert all(c.location in HUBS for c in journey.checkpoints)
    assert journey.estimate_at(0.0) is None, "unknown to the carrier at first"
    assert journey.estimate_at(journey.checkpoints[0].offset) is not None


@given(numbers)
def test_the_same_number_always_gets_the_same_journey(number: str) -> None:
    assert plan(number) == plan(number)


def test_scenarios_follow_the_configured_mix() -> None:
    counts = Counter(scenario_of(f"TN{i:08d}") for i in range(5000))
    for scenario, weight in SCENARIO_WEIGHTS.items():
        assert abs(counts[scenario] / 5000 - weight) < 0.03, scenario


def test_a_prefix_asks_for_a_scenario() -> None:
    assert scenario_of("SIMEXC0001") == Scenario.EXCEPTION
    assert scenario_of("simrts0001") == Scenario.RETURNED
    journey = plan("SIMEXC0001")
    assert TrackingStatus.EXCEPTION in {c.status for c in journey.checkpoints}


def test_a_delivered_journey_crosses_cities_over_days() -> None:
    journey = plan("SIMDLV12345")
    transit = [c for c in journey.checkpoints if c.status == TrackingStatus.IN_TRANSIT]
    assert len(transit) >= 4
    assert len({c.location for c in transit}) >= 3
    assert [c.status for c in journey.checkpoints][-2:] == [
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    ]
    assert 2 * DAY < journey.duration < 9 * DAY


def test_failed_attempts_and_returns_happen() -> None:
    failed = plan("SIMFAIL0001")
    statuses = [c.status for c in failed.checkpoints]
    assert statuses.index(TrackingStatus.FAILED_ATTEMPT) < statuses.index(TrackingStatus.DELIVERED)
    returned = plan("SIMRTS0001")
    assert [c.status for c in returned.checkpoints].count(TrackingStatus.FAILED_ATTEMPT) == 2
    assert returned.checkpoints[-1].status == TrackingStatus.RETURNED_TO_SENDER


def test_estimates_are_sometimes_revised() -> None:
    revised = sum(1 for i in range(300) if len(plan(f"TN{i:08d}").estimates) > 1)
    assert 30 < revised < 270


def test_a_parcel_progresses_with_simulated_time() -> None:
    wall = [5000.0]
    book = ParcelBook(speed=3600.0, clock=lambda: wall[0])  # an hour a second
    unknown = book.view("SIMDLV12345")
    assert unknown.status == TrackingStatus.PENDING
    assert unknown.checkpoints == ()
    assert unknown.estimated_delivery_at is None
    wall[0] += 6  # six simulated hours later the carrier has scanned the label
    first = book.view("SIMDLV12345")
    assert first.status == TrackingStatus.INFO_RECEIVED
    assert len(first.checkpoints) == 1
    wall[0] += 10 * 24  # ten simulated days later
    later = book.view("SIMDLV12345")
    assert later.status == TrackingStatus.DELIVERED
    assert later.checkpoints[0] == first.checkpoints[0], "history does not change"
    # Times are on the compressed timeline: never after the moment of the query.
    assert later.checkpoints[-1].at.timestamp() <= wall[0]
    assert book.view("SIMDLV12345") == later
