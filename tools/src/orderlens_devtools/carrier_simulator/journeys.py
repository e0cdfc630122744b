"""Parcel journeys, planned deterministically from the tracking number.

A journey is a list of checkpoints at offsets (in simulated seconds) from the moment the
carrier first hears of the parcel, plus the estimated-delivery revisions along the way. The
same tracking number always gets the same journey, in any process, so runs are reproducible.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from enum import StrEnum

from orderlens.domain.status import TrackingStatus

HOUR = 3600.0
DAY = 24 * HOUR


class Scenario(StrEnum):
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"
    EXCEPTION = "exception"
    PICKUP = "pickup"
    RETURNED = "returned"
    EXPIRED = "expired"


# How often each scenario happens when the tracking number does not ask for one.
SCENARIO_WEIGHTS: dict[Scenario, float] = {
    Scenario.DELIVERED: 0.70,
    Scenario.FAILED_ATTEMPT: 0.10,
    Scenario.EXCEPTION: 0.07,
    Scenario.PICKUP: 0.05,
    Scenario.RETURNED: 0.05,
    Scenario.EXPIRED: 0.03,
}

# A tracking number starting with one of these asks for that scenario (demos and tests).
SCENARIO_PREFIXES: dict[str, Scenario] = {
    "SIMDLV": Scenario.DELIVERED,
    "SIMFAIL": Scenario.FAILED_ATTEMPT,
    "SIMEXC": Scenario.EXCEPTION,
    "SIMPICK": Scenario.PICKUP,
    "SIMRTS": Scenario.RETURNED,
    "SIMEXP": Scenario.EXPIRED,
}

HUBS: tuple[str, ...] = (
    "Los Angeles, CA, US",
    "Phoenix, AZ, US",
    "Dallas, TX, US",
    "Memphis, TN, US",
    "Louisville, KY, US",
    "Chicago, IL, US",
    "Indianapolis, IN, US",
    "Atlanta, GA, US",
    "Newark, NJ, US",
    "Salt Lake City, UT, US",
    "Denver, CO, US",
    "Kansas City, MO, US",
    "Columbus, OH, US",
    "Charlotte, NC, US",
    "Seattle, WA, US",
    "Sacramento, CA, US",
    "Jacksonville, FL, US",
    "Harrisburg, PA, US",
)

_EXCEPTIONS = (
    "Delayed: severe weather in the area",
    "Shipment damaged in transit; repackaged",
    "Held at facility: address information needed",
    "Delayed: missed connection at sort center",
)
_FAILED_ATTEMPTS = (
    "Delivery attempted: no access to delivery location",
    "Delivery attempted: recipient not available, notice left",
    "Delivery attempted: business closed",
)


@dataclass(frozen=True)
class PlannedCheckpoint:
    offset: float
    status: TrackingStatus
    message: str
    location: str


@dataclass(frozen=True)
class EstimateRevision:
    """From `offset` on, the carrier estimates delivery at `estimate` (both offsets)."""

    offset: float
    estimate: float


@dataclass(frozen=True)
class Journey:
    tracking_number: str
    scenario: Scenario
    checkpoints: tuple[PlannedCheckpoint, ...]
    estimates: tuple[EstimateRevision, ...]

    @property
    def duration(self) -> float:
        return self.checkpoints[-1].offset

    def checkpoints_until(self, elapsed: float) -> list[PlannedCheckpoint]:
        return [c for c in self.checkpoints if c.offset <= elapsed]

    def estimate_at(self, elapsed: float) -> float | None:
        current: float | None = None
        for revision in self.estimates:
            if revision.offset <= elapsed:
                current = revision.estimate
        return current


def seed_of(tracking_number: str) -> int:
    """A process-independent seed (the built-in `hash` is salted per process)."""
    return int.from_bytes(hashlib.sha256(tracking_number.encode()).digest()[:8], "big")


def scenario_of(tracking_number: str) -> Scenario:
    upper = tracking_number.upper()
    for prefix, scenario in SCENARIO_PREFIXES.items():
        if upper.startswith(prefix):
            return scenario
    rng = random.Random(seed_of(tracking_number) ^ 0x5CE7A210)
    scenarios = list(SCENARIO_WEIGHTS)
    return rng.choices(scenarios, weights=[SCENARIO_WEIGHTS[s] for s in scenarios])[0]


def plan(tracking_number: str) -> Journey:
    rng = random.Random(seed_of(tracking_number))
    scenario = scenario_of(tracking_number)
    return _Planner(rng, tracking_number, scenario).build()


class _Planner:
    def __init__(self, rng: random.Random, tracking_number: str, scenario: Scenario) -> None:
        self.rng = rng
        self.tracking_number = tracking_number
        self.scenario = scenario
        self.t = 0.0
        self.checkpoints: list[PlannedCheckpoint] = []
        self.estimates: list[EstimateRevision] = []
        stops = rng.sample(HUBS, k=rng.randint(3, 5))
        self.origin, self.hubs, self.destination = stops[0], stops[1:-1], stops[-1]

    def add(self, status: TrackingStatus, message: str, location: str) -> None:
        self.checkpoints.append(PlannedCheckpoint(self.t, status, message, location))

    def wait(self, low_hours: float, high_hours: float) -> None:
        self.t += self.rng.uniform(low_hours, high_hours) * HOUR

    def revise(self, delay_days: float) -> None:
        previous = self.estimates[-1].estimate
        self.estimates.append(EstimateRevision(self.t, previous + delay_days * DAY))

    def build(self) -> Journey:
        # Carriers know nothing of a label for a while after the seller prints it.
        self.wait(0.5, 6)
        self.add(TrackingStatus.INFO_RECEIVED, "Shipping label created", self.origin)
        self.estimates.append(EstimateRevision(self.t, self.t + self.rng.uniform(2.5, 6.0) * DAY))
        if self.scenario == Scenario.EXPIRED:
            self.wait(7 * 24, 9 * 24)
            self.add(TrackingStatus.EXPIRED, "No information from the carrier", self.origin)
            return self._journey()
        self.wait(2, 20)
        self.add(TrackingStatus.IN_TRANSIT, "Picked up by the carrier", self.origin)
        self._line_haul()
        self.wait(2, 10)
        self.add(TrackingStatus.IN_TRANSIT, "Arrived at the destination facility", self.destination)
        self.wait(6, 14)
        self.add(TrackingStatus.OUT_FOR_DELIVERY, "Out for delivery", self.destination)
        self._last_mile()
        return self._journey()

    def _line_haul(self) -> None:
        exception_at = self.rng.randrange(len(self.hubs))
        revise_at = self.rng.randrange(len(self.hubs)) if self.rng.random() < 0.3 else -1
        for index, hub in enumerate(self.hubs):
            self.wait(5, 18)
            self.add(TrackingStatus.IN_TRANSIT, "Arrived at the sort facility", hub)
            if self.scenario == Scenario.EXCEPTION and index == exception_at:
                self.wait(1, 6)
                self.add(TrackingStatus.EXCEPTION, self.rng.choice(_EXCEPTIONS), hub)
                self.revise(self.rng.uniform(1.0, 2.0))
                self.wait(12, 36)
                self.add(TrackingStatus.IN_TRANSIT, "Shipment back in transit", hub)
            if index == revise_at:
                self.revise(self.rng.choice((-1.0, 1.0)) * self.rng.uniform(0.3, 1.0))
            self.wait(1, 5)
            self.add(TrackingStatus.IN_TRANSIT, "Departed the sort facility", hub)

    def _last_mile(self) -> None:
        here = self.destination
        if self.scenario == Scenario.FAILED_ATTEMPT:
            self.wait(2, 8)
            self.add(TrackingStatus.FAILED_ATTEMPT, self.rng.choice(_FAILED_ATTEMPTS), here)
            self.revise(1.0)
            self.wait(16, 26)
            self.add(TrackingStatus.OUT_FOR_DELIVERY, "Out for delivery", here)
        elif self.scenario == Scenario.PICKUP:
            self.wait(2, 8)
            self.add(
                TrackingStatus.AVAILABLE_FOR_PICKUP, "Available for pickup at the post office", here
            )
            self.wait(10, 60)
            self.add(TrackingStatus.DELIVERED, "Picked up at the post office", here)
            return
        elif self.scenario == Scenario.RETURNED:
            for attempt in range(2):
                if attempt:
                    self.wait(16, 26)
                    self.add(TrackingStatus.OUT_FOR_DELIVERY, "Out for delivery", here)
                self.wait(2, 8)
                self.add(TrackingStatus.FAILED_ATTEMPT, self.rng.choice(_FAILED_ATTEMPTS), here)
            self.wait(6, 20)
            self.add(TrackingStatus.EXCEPTION, "Undeliverable: returning to sender", here)
            self.wait(20, 40)
            self.add(TrackingStatus.IN_TRANSIT, "In transit back to the sender", self.hubs[-1])
            self.wait(24, 60)
            self.add(TrackingStatus.RETURNED_TO_SENDER, "Returned to the sender", self.origin)
            return
        self.wait(2, 8)
        self.add(TrackingStatus.DELIVERED, "Delivered, left at the front door", here)

    def _journey(self) -> Journey:
        return Journey(
            tracking_number=self.tracking_number,
            scenario=self.scenario,
            checkpoints=tuple(self.checkpoints),
            estimates=tuple(self.estimates),
        )
