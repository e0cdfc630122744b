"""AfterShip Tracking API (versioned base URL, e.g. .../tracking/2026-07).

- Auth: header `as-api-key: <key>`.
- `GET /trackings?tracking_numbers=a,b` returns up to 50 trackings at once (`data.trackings`);
  a number AfterShip does not follow yet is created with `POST /trackings` (one per request);
  an existing one answers `meta.code` 4003 "Tracking already exists", which is fine.
- Published limits since API 2024-07 are per endpoint: GET /trackings 6 requests/s (the tracker's
  default for this provider, which leaves POST /trackings well inside its 20/s).
- `tag`: Pending, InfoReceived, InTransit, OutForDelivery, AttemptFail, Delivered,
  AvailableForPickup, Exception, Expired; `return_to_sender` marks a parcel going back, and
  Delivered with it means delivered back to the sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orderlens.domain.status import TrackingStatus
from orderlens.events import CheckpointData
from orderlens_tracker.adapters.base import (
    CarrierRejected,
    Parcel,
    TrackResult,
    join_location,
    parse_time,
)
from orderlens_tracker.adapters.transport import CarrierUnavailable, Transport
from orderlens_tracker.domain import TrackingSnapshot

ALREADY_EXISTS = 4003

TAGS: dict[str, TrackingStatus] = {
    "Pending": TrackingStatus.PENDING,
    "InfoReceived": TrackingStatus.INFO_RECEIVED,
    "InTransit": TrackingStatus.IN_TRANSIT,
    "OutForDelivery": TrackingStatus.OUT_FOR_DELIVERY,
    "AttemptFail": TrackingStatus.FAILED_ATTEMPT,
    "Delivered": TrackingStatus.DELIVERED,
    "AvailableForPickup": TrackingStatus.AVAILABLE_FOR_PICKUP,
    "Exception": TrackingStatus.EXCEPTION,
    "Expired": TrackingStatus.EXPIRED,
}


def map_tag(tag: object, return_to_sender: object = False) -> TrackingStatus | None:
    status = TAGS.get(tag) if isinstance(tag, str) else None
    if status == TrackingStatus.DELIVERED and return_to_sender is True:
        return TrackingStatus.RETURNED_TO_SENDER
    return status


class AfterShipAdapter:
    provider = "aftership"
    max_batch = 50

    def __init__(self, transport: Transport, base_url: str, api_key: str) -> None:
        if not api_key:
            raise ValueError("AFTERSHIP_API_KEY is required for the aftership provider")
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.headers = {"as-api-key": api_key, "Content-Type": "application/json"}

    async def track(self, parcels: Sequence[Parcel]) -> TrackResult:
        numbers = ",".join(p.tracking_number for p in parcels)
        response = await self.transport.request(
            "GET",
            f"{self.base_url}/trackings",
            params={"tracking_numbers": numbers, "limit": "200"},
            headers=self.headers,
        )
        payload = _json(response.status_code, response, "GET /trackings")
        if response.status_code != 200:
            raise CarrierRejected(f"AfterShip GET /trackings: {_meta(payload)}")
        result = parse_trackings(payload)
        for parcel in parcels:
            if parcel.tracking_number not in result.snapshots:
                problem = await self._create(parcel)
                if problem:
                    result.rejected[parcel.tracking_number] = problem
        return result

    async def _create(self, parcel: Parcel) -> str | None:
        body: dict[str, Any] = {"tracking_number": parcel.tracking_number}
        if parcel.carrier:
            body["slug"] = parcel.carrier.strip().lower()
        response = await self.transport.request(
            "POST", f"{self.base_url}/trackings", json=body, headers=self.headers
        )
        if response.status_code in (200, 201):
            return None
        payload = _json(response.status_code, response, "POST /trackings")
        if (payload.get("meta") or {}).get("code") == ALREADY_EXISTS:
            return None
        if response.status_code in (401, 403):
            raise CarrierRejected(f"AfterShip POST /trackings: {_meta(payload)}")
        return _meta(payload)


def _json(status: int, response: Any, what: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError as exc:
        raise CarrierUnavailable(f"AfterShip {what}: HTTP {status} without JSON") from exc
    return payload if isinstance(payload, dict) else {}


def _meta(payload: dict[str, Any]) -> str:
    meta = payload.get("meta") or {}
    return f"{meta.get('code')} {meta.get('type') or ''} {meta.get('message') or ''}".strip()


def parse_trackings(payload: dict[str, Any]) -> TrackResult:
    result = TrackResult()
    newest: dict[str, str] = {}
    for tracking in (payload.get("data") or {}).get("trackings") or []:
        snapshot = _snapshot(tracking)
        if snapshot is None:
            continue
        updated = str(tracking.get("updated_at") or "")
        # The same number under two couriers: keep the one updated last.
        if snapshot.tracking_number in newest and newest[snapshot.tracking_number] > updated:
            continue
        newest[snapshot.tracking_number] = updated
        result.snapshots[snapshot.tracking_number] = snapshot
    return result


def _snapshot(tracking: dict[str, Any]) -> TrackingSnapshot | None:
    number = tracking.get("tracking_number")
    if not isinstance(number, str):
        return None
    status = map_tag(tracking.get("tag"), tracking.get("return_to_sender")) or (
        TrackingStatus.PENDING
    )
    checkpoints = []
    for raw in tracking.get("checkpoints") or []:
        at = parse_time(raw.get("checkpoint_time"))
        if at is None:
            continue
        checkpoints.append(
            CheckpointData(
                at=at,
                status=map_tag(raw.get("tag")) or status,
                message=raw.get("message") or raw.get("subtag_message"),
                location=raw.get("location")
                or join_location(raw.get("city"), raw.get("state"), raw.get("country_region")),
            )
        )
    return TrackingSnapshot(
        tracking_number=number,
        status=status,
        checkpoints=tuple(sorted(checkpoints, key=lambda c: c.at)),
        estimated_delivery_at=_estimate(tracking),
    )


def _estimate(tracking: dict[str, Any]) -> Any:
    latest = tracking.get("latest_estimated_delivery") or {}
    courier = tracking.get("courier_estimated_delivery_date") or {}
    aftership = tracking.get("aftership_estimated_delivery_date") or {}
    first = tracking.get("first_estimated_delivery") or {}
    for value in (
        latest.get("datetime"),
        latest.get("datetime_max"),
        courier.get("estimated_delivery_date"),
        courier.get("estimated_delivery_date_max"),
        aftership.get("estimated_delivery_date"),
        aftership.get("estimated_delivery_date_max"),
        first.get("datetime"),
    ):
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    return None
