"""17TRACK Tracking API v2.4 (also the v2.2 response shape): https://api.17track.net/en/doc

- Auth: header `17token: <key>`; every endpoint is `POST <base>/<name>` with a JSON array of at
  most 40 `{"number", "carrier"?}` items; the answer is `{"code", "data": {"accepted",
  "rejected"}}` with per-item `error: {"code", "message"}` in `rejected`.
- A number must be registered (`/register`) before `/gettrackinfo` knows it (-18019902); an
  already registered number is refused with -18019901, which is fine.
- Published rate limit: 3 requests/s per key (the tracker's default for this provider).
- `track_info.latest_status.status`: NotFound, InfoReceived, InTransit, Expired,
  AvailableForPickup, OutForDelivery, DeliveryFailure, Delivered, Exception; sub-statuses such as
  `Exception_Returned` refine them. Events are under `track_info.tracking.providers[].events`.
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
    ok_json,
    parse_time,
)
from orderlens_tracker.adapters.transport import Transport
from orderlens_tracker.domain import TrackingSnapshot

NOT_REGISTERED = -18019902
ALREADY_REGISTERED = -18019901

# 17TRACK's main statuses -> docs/contract.md §4.4.
MAIN_STATUS: dict[str, TrackingStatus] = {
    "NotFound": TrackingStatus.PENDING,
    "InfoReceived": TrackingStatus.INFO_RECEIVED,
    "InTransit": TrackingStatus.IN_TRANSIT,
    "Expired": TrackingStatus.EXPIRED,
    "AvailableForPickup": TrackingStatus.AVAILABLE_FOR_PICKUP,
    "OutForDelivery": TrackingStatus.OUT_FOR_DELIVERY,
    "DeliveryFailure": TrackingStatus.FAILED_ATTEMPT,
    "Delivered": TrackingStatus.DELIVERED,
    "Exception": TrackingStatus.EXCEPTION,
}
# Sub-statuses that mean more than their main status.
SUB_STATUS: dict[str, TrackingStatus] = {
    "Exception_Returned": TrackingStatus.RETURNED_TO_SENDER,
}
# Event stages, for events without a sub-status.
STAGE: dict[str, TrackingStatus] = {
    "InfoReceived": TrackingStatus.INFO_RECEIVED,
    "PickedUp": TrackingStatus.IN_TRANSIT,
    "Departure": TrackingStatus.IN_TRANSIT,
    "Arrival": TrackingStatus.IN_TRANSIT,
    "AvailableForPickup": TrackingStatus.AVAILABLE_FOR_PICKUP,
    "OutForDelivery": TrackingStatus.OUT_FOR_DELIVERY,
    "Delivered": TrackingStatus.DELIVERED,
    "Returning": TrackingStatus.EXCEPTION,
    "Returned": TrackingStatus.RETURNED_TO_SENDER,
}
# 17TRACK carrier keys of common carrier names; unknown carriers are auto-detected.
CARRIER_KEYS: dict[str, int] = {"usps": 21051, "ups": 100002, "fedex": 100003, "dhl": 100001}


def map_status(status: object, sub_status: object = None) -> TrackingStatus | None:
    if isinstance(sub_status, str):
        if sub_status in SUB_STATUS:
            return SUB_STATUS[sub_status]
        main = sub_status.split("_", 1)[0]
        if main in MAIN_STATUS:
            return MAIN_STATUS[main]
    return MAIN_STATUS.get(status) if isinstance(status, str) else None


class SeventeenTrackAdapter:
    provider = "17track"
    max_batch = 40

    def __init__(self, transport: Transport, base_url: str, api_key: str) -> None:
        if not api_key:
            raise ValueError("SEVENTEENTRACK_API_KEY is required for the 17track provider")
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.headers = {"17token": api_key, "Content-Type": "application/json"}

    async def track(self, parcels: Sequence[Parcel]) -> TrackResult:
        items = [_item(p) for p in parcels]
        data = await self._post("gettrackinfo", items)
        result = parse_track_info(data)
        unregistered = [
            p for p in parcels if result.rejected.get(p.tracking_number) == _NOT_REGISTERED_TEXT
        ]
        for parcel in unregistered:
            del result.rejected[parcel.tracking_number]
        if unregistered:
            registered = await self._post("register", [_item(p) for p in unregistered])
            for number, (code, message) in _rejections(registered).items():
                if code != ALREADY_REGISTERED:
                    result.rejected[number] = message
        return result

    async def _post(self, endpoint: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        response = await self.transport.request(
            "POST", f"{self.base_url}/{endpoint}", json=items, headers=self.headers
        )
        payload = ok_json(response, f"17TRACK {endpoint}")
        if payload.get("code") != 0:
            raise CarrierRejected(f"17TRACK {endpoint}: code {payload.get('code')}")
        data = payload.get("data")
        return data if isinstance(data, dict) else {}


_NOT_REGISTERED_TEXT = "not registered"


def _item(parcel: Parcel) -> dict[str, Any]:
    item: dict[str, Any] = {"number": parcel.tracking_number}
    key = CARRIER_KEYS.get((parcel.carrier or "").strip().lower())
    if key is not None:
        item["carrier"] = key
    return item


def _rejections(data: dict[str, Any]) -> dict[str, tuple[int | None, str]]:
    found: dict[str, tuple[int | None, str]] = {}
    for item in data.get("rejected") or []:
        number = item.get("number")
        error = item.get("error") or {}
        if isinstance(number, str):
            code = error.get("code")
            found[number] = (code if isinstance(code, int) else None, str(error.get("message")))
    return found


def parse_track_info(data: dict[str, Any]) -> TrackResult:
    result = TrackResult()
    for item in data.get("accepted") or []:
        snapshot = _snapshot(item)
        if snapshot is not None:
            result.snapshots[snapshot.tracking_number] = snapshot
    for number, (code, message) in _rejections(data).items():
        result.rejected[number] = _NOT_REGISTERED_TEXT if code == NOT_REGISTERED else message
    return result


def _snapshot(item: dict[str, Any]) -> TrackingSnapshot | None:
    number = item.get("number")
    info = item.get("track_info")
    if not isinstance(number, str) or not isinstance(info, dict):
        return None
    latest = info.get("latest_status") or {}
    status = map_status(latest.get("status"), latest.get("sub_status")) or TrackingStatus.PENDING
    checkpoints: list[CheckpointData] = []
    for provider in (info.get("tracking") or {}).get("providers") or []:
        for event in provider.get("events") or []:
            checkpoint = _checkpoint(event, status)
            if checkpoint is not None:
                checkpoints.append(checkpoint)
    estimate = ((info.get("time_metrics") or {}).get("estimated_delivery_date")) or {}
    return TrackingSnapshot(
        tracking_number=number,
        status=status,
        checkpoints=tuple(sorted(checkpoints, key=lambda c: c.at)),
        estimated_delivery_at=parse_time(estimate.get("to")) or parse_time(estimate.get("from")),
    )


def _checkpoint(event: dict[str, Any], fallback: TrackingStatus) -> CheckpointData | None:
    at = parse_time(event.get("time_utc")) or parse_time(event.get("time_iso"))
    if at is None:
        raw = event.get("time_raw") or {}
        at = parse_time(
            f"{raw.get('date')}T{raw.get('time') or '00:00:00'}{raw.get('timezone') or ''}"
        )
    if at is None:
        return None
    stage = event.get("stage")
    status = (
        map_status(None, event.get("sub_status"))
        or (STAGE.get(stage) if isinstance(stage, str) else None)
        or fallback
    )
    address = event.get("address") or {}
    translation = event.get("description_translation") or {}
    return CheckpointData(
        at=at,
        status=status,
        message=event.get("description") or translation.get("description"),
        location=event.get("location")
        or join_location(address.get("city"), address.get("state"), address.get("country")),
    )
