"""The project's carrier simulator (docs/carrier-simulator.md): `POST /v1/track`, 40 a batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orderlens.domain.status import TrackingStatus
from orderlens.events import CheckpointData
from orderlens_tracker.adapters.base import Parcel, TrackResult, ok_json, parse_time
from orderlens_tracker.adapters.transport import Transport
from orderlens_tracker.domain import TrackingSnapshot


class SimulatorAdapter:
    provider = "simulator"

    def __init__(self, transport: Transport, base_url: str, *, max_batch: int = 40) -> None:
        self.transport = transport
        self.url = base_url.rstrip("/") + "/v1/track"
        self.max_batch = max_batch

    async def track(self, parcels: Sequence[Parcel]) -> TrackResult:
        body = {"tracking_numbers": [p.tracking_number for p in parcels]}
        response = await self.transport.request("POST", self.url, json=body)
        return parse_response(ok_json(response, "simulator POST /v1/track"))


def parse_response(payload: dict[str, Any]) -> TrackResult:
    result = TrackResult()
    for item in payload.get("trackings") or []:
        snapshot = _snapshot(item)
        if snapshot is not None:
            result.snapshots[snapshot.tracking_number] = snapshot
    for error in payload.get("errors") or []:
        number = error.get("tracking_number")
        if isinstance(number, str):
            result.rejected[number] = str(error.get("message") or error.get("code"))
    return result


def _snapshot(item: dict[str, Any]) -> TrackingSnapshot | None:
    number = item.get("tracking_number")
    if not isinstance(number, str):
        return None
    checkpoints = []
    for raw in item.get("checkpoints") or []:
        at = parse_time(raw.get("at"))
        status = _status(raw.get("status"))
        if at is None or status is None:
            continue
        checkpoints.append(
            CheckpointData(
                at=at, status=status, message=raw.get("message"), location=raw.get("location")
            )
        )
    return TrackingSnapshot(
        tracking_number=number,
        status=_status(item.get("status")) or TrackingStatus.PENDING,
        checkpoints=tuple(sorted(checkpoints, key=lambda c: c.at)),
        estimated_delivery_at=parse_time(item.get("estimated_delivery_at")),
    )


def _status(value: object) -> TrackingStatus | None:
    if not isinstance(value, str):
        return None
    try:
        return TrackingStatus(value)
    except ValueError:
        return None
