"""The parcels the simulated carrier knows, and what a tracking query shows of each.

A journey starts when the carrier first hears of the tracking number (its first query) and
runs `speed` times faster than real time. Checkpoint times are wall-clock times on that
compressed timeline, so they never lie in the future (docs/decisions/0051).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orderlens.domain.status import TrackingStatus
from orderlens_devtools.carrier_simulator.journeys import Journey, Scenario, plan

CARRIER = "simpost"


@dataclass(frozen=True)
class CheckpointView:
    at: datetime
    status: TrackingStatus
    message: str
    location: str

    def to_json(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "status": self.status.value,
            "message": self.message,
            "location": self.location,
        }


@dataclass(frozen=True)
class ParcelView:
    tracking_number: str
    scenario: Scenario
    status: TrackingStatus
    checkpoints: tuple[CheckpointView, ...]
    estimated_delivery_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        estimate = self.estimated_delivery_at
        return {
            "tracking_number": self.tracking_number,
            "carrier": CARRIER,
            "status": self.status.value,
            "estimated_delivery_at": estimate.isoformat().replace("+00:00", "Z")
            if estimate
            else None,
            # Newest first, as carrier APIs list them.
            "checkpoints": [c.to_json() for c in reversed(self.checkpoints)],
        }


class ParcelBook:
    def __init__(self, speed: float, clock: Callable[[], float] = time.time) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._clock = clock
        self._first_seen: dict[str, float] = {}
        self._journeys: dict[str, Journey] = {}

    def __len__(self) -> int:
        return len(self._first_seen)

    def view(self, tracking_number: str) -> ParcelView:
        now = self._clock()
        first_seen = self._first_seen.setdefault(tracking_number, now)
        journey = self._journeys.get(tracking_number)
        if journey is None:
            journey = self._journeys[tracking_number] = plan(tracking_number)
        elapsed = (now - first_seen) * self.speed
        visible = journey.checkpoints_until(elapsed)
        checkpoints = tuple(
            CheckpointView(
                at=self._wall(first_seen, c.offset),
                status=c.status,
                message=c.message,
                location=c.location,
            )
            for c in visible
        )
        estimate = journey.estimate_at(elapsed)
        return ParcelView(
            tracking_number=tracking_number,
            scenario=journey.scenario,
            status=checkpoints[-1].status if checkpoints else TrackingStatus.PENDING,
            checkpoints=checkpoints,
            estimated_delivery_at=None if estimate is None else self._wall(first_seen, estimate),
        )

    def _wall(self, first_seen: float, offset: float) -> datetime:
        # Whole milliseconds, so that a checkpoint renders identically on every query.
        millis = round((first_seen + offset / self.speed) * 1000)
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
