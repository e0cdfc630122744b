"""The one interface every carrier tracking API is used through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

import httpx

from orderlens_tracker.adapters.transport import CarrierUnavailable
from orderlens_tracker.domain import TrackingSnapshot


@dataclass(frozen=True)
class Parcel:
    """What an adapter is asked about: a tracking number and, when known, its carrier name."""

    tracking_number: str
    carrier: str | None = None


@dataclass
class TrackResult:
    """Snapshots by tracking number; numbers the provider refused, with its reason.

    A number in neither map is not known to the provider yet (for example just registered):
    the poller asks again at its next turn.
    """

    snapshots: dict[str, TrackingSnapshot] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)


class CarrierRejected(Exception):
    """The provider refuses the request itself (bad key, malformed request): not transient."""


class CarrierAdapter(Protocol):
    provider: str
    max_batch: int

    async def track(self, parcels: Sequence[Parcel]) -> TrackResult:
        """One batch (at most `max_batch` parcels). May raise CarrierUnavailable, BreakerOpen
        (from the transport) or CarrierRejected."""
        ...


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime; a time without offset is read as UTC and a
    bare date as the end of that day (an estimate "on the 3rd" is kept until the 3rd ends)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(23, 59, 59), tzinfo=UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def join_location(*parts: object) -> str | None:
    words = [str(p).strip() for p in parts if isinstance(p, str) and p.strip()]
    return ", ".join(words) or None


def ok_json(response: httpx.Response, what: str) -> Any:
    """The JSON body of a 200 answer. Another status is a refusal (`CarrierRejected`: the
    transport already retried what can be retried); a body that is not JSON is an outage
    (`CarrierUnavailable`: polled again later)."""
    if response.status_code != 200:
        raise CarrierRejected(f"{what}: HTTP {response.status_code}: {response.text[:200]}")
    try:
        return response.json()
    except ValueError as exc:
        raise CarrierUnavailable(f"{what}: not JSON: {exc}") from exc
