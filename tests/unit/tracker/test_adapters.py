"""Each adapter sends the documented request and maps the documented answer onto
docs/contract.md §4.4.

The answers are the recorded responses in tests/fixtures/carriers/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from tracker_fakes import ManualClock, make_transport

from orderlens.domain.status import TrackingStatus
from orderlens_tracker.adapters import (
    AfterShipAdapter,
    CarrierRejected,
    Parcel,
    SeventeenTrackAdapter,
    SimulatorAdapter,
)
from orderlens_tracker.adapters.aftership import map_tag
from orderlens_tracker.adapters.base import parse_time
from orderlens_tracker.adapters.seventeen_track import map_status

Load = Callable[[str], dict[str, Any]]


async def test_17track_gettrackinfo_is_mapped(carrier_response: Load, clock: ManualClock) -> None:
    requests: list[httpx.Request] = []

    def carrier(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path.endswith("/gettrackinfo"):
            return httpx.Response(200, json=carrier_response("17track_gettrackinfo"))
        return httpx.Response(200, json=carrier_response("17track_register"))

    adapter = SeventeenTrackAdapter(
        make_transport(carrier, clock), "https://api.17track.net/track/v2.4", "secret-key"
    )
    numbers = [
        "9400111899223344556677",
        "1Z999AA10123456784",
        "LX123456785CN",
        "RR123456789CN",
        "ABC",
    ]
    result = await adapter.track([Parcel(numbers[0], "USPS"), *(Parcel(n) for n in numbers[1:])])

    first = requests[0]
    assert first.method == "POST"
    assert first.url == "https://api.17track.net/track/v2.4/gettrackinfo"
    assert first.headers["17token"] == "secret-key"
    assert json.loads(first.content)[:2] == [
        {"number": "9400111899223344556677", "carrier": 21051},
        {"number": "1Z999AA10123456784"},
    ]
    delivered = result.snapshots["9400111899223344556677"]
    assert delivered.status == TrackingStatus.DELIVERED
    assert [c.status for c in delivered.checkpoints] == [
        TrackingStatus.INFO_RECEIVED,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    ]
    assert delivered.checkpoints[0].at == datetime(2026, 11, 15, 17, 10, tzinfo=UTC)
    assert delivered.checkpoints[-1].location == "AUSTIN, TX 78701"
    assert delivered.estimated_delivery_at == datetime(2026, 11, 19, 6, 0, tzinfo=UTC)
    returned = result.snapshots["1Z999AA10123456784"]
    assert returned.status == TrackingStatus.RETURNED_TO_SENDER
    assert [c.status for c in returned.checkpoints] == [
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.FAILED_ATTEMPT,
        TrackingStatus.RETURNED_TO_SENDER,
    ]
    assert returned.checkpoints[-1].location == "ATLANTA, GA, US"
    assert result.snapshots["LX123456785CN"].status == TrackingStatus.PENDING
    # The unregistered number was registered (and is asked about again next time).
    assert requests[1].url.path.endswith("/register")
    assert json.loads(requests[1].content) == [{"number": "RR123456789CN"}]
    assert "RR123456789CN" not in result.rejected
    assert "invalid" in result.rejected["ABC"]


async def test_17track_already_registered_is_fine(
    carrier_response: Load, clock: ManualClock
) -> None:
    not_registered = {
        "code": 0,
        "data": {
            "accepted": [],
            "rejected": [
                {
                    "number": "RR123456789CN",
                    "error": {"code": -18019902, "message": "register first"},
                }
            ],
        },
    }

    def carrier(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/gettrackinfo"):
            return httpx.Response(200, json=not_registered)
        return httpx.Response(200, json=carrier_response("17track_register_already"))

    adapter = SeventeenTrackAdapter(make_transport(carrier, clock), "https://x.test", "k")
    result = await adapter.track([Parcel("RR123456789CN")])
    assert result.snapshots == {}
    assert result.rejected == {}


async def test_17track_bad_key_is_refused(carrier_response: Load, clock: ManualClock) -> None:
    adapter = SeventeenTrackAdapter(
        make_transport(
            lambda _: httpx.Response(200, json=carrier_response("17track_invalid_key")), clock
        ),
        "https://x.test",
        "wrong",
    )
    with pytest.raises(CarrierRejected, match="-18010002"):
        await adapter.track([Parcel("RR123456789CN")])


@pytest.mark.parametrize(
    ("status", "sub_status", "expected"),
    [
        ("NotFound", "NotFound_Other", TrackingStatus.PENDING),
        ("InfoReceived", "InfoReceived", TrackingStatus.INFO_RECEIVED),
        ("InTransit", "InTransit_CustomsProcessing", TrackingStatus.IN_TRANSIT),
        ("InTransit", "InTransit_SomethingNew", TrackingStatus.IN_TRANSIT),
        ("Expired", "Expired_Other", TrackingStatus.EXPIRED),
        ("AvailableForPickup", "AvailableForPickup_Other", TrackingStatus.AVAILABLE_FOR_PICKUP),
        ("OutForDelivery", "OutForDelivery_Other", TrackingStatus.OUT_FOR_DELIVERY),
        ("DeliveryFailure", "DeliveryFailure_Security", TrackingStatus.FAILED_ATTEMPT),
        ("Delivered", "Delivered_Other", TrackingStatus.DELIVERED),
        ("Exception", "Exception_Returning", TrackingStatus.EXCEPTION),
        ("Exception", "Exception_Returned", TrackingStatus.RETURNED_TO_SENDER),
        ("Exception", None, TrackingStatus.EXCEPTION),
        ("Teleported", None, None),
    ],
)
def test_17track_statuses_map_onto_the_spec(
    status: str, sub_status: str | None, expected: TrackingStatus | None
) -> None:
    assert map_status(status, sub_status) == expected


async def test_aftership_trackings_are_mapped_and_missing_ones_created(
    carrier_response: Load, clock: ManualClock
) -> None:
    requests: list[httpx.Request] = []

    def carrier(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=carrier_response("aftership_get_trackings"))
        if json.loads(request.content)["tracking_number"] == "RR123456789CN":
            return httpx.Response(201, json=carrier_response("aftership_create_tracking"))
        return httpx.Response(400, json=carrier_response("aftership_tracking_exists"))

    adapter = AfterShipAdapter(
        make_transport(carrier, clock), "https://api.aftership.com/tracking/2026-07", "as-key"
    )
    numbers = [
        "9400111899223344556677",
        "1Z999AA10123456784",
        "LX123456785CN",
        "RR123456789CN",
        "EXISTING12345",
    ]
    result = await adapter.track(
        [Parcel(numbers[0], "USPS"), *(Parcel(n) for n in numbers[1:4]), Parcel(numbers[4], "dhl")]
    )

    get = requests[0]
    assert get.url.path == "/tracking/2026-07/trackings"
    assert get.url.params["tracking_numbers"] == ",".join(numbers)
    assert get.headers["as-api-key"] == "as-key"
    out = result.snapshots["9400111899223344556677"]
    assert out.status == TrackingStatus.OUT_FOR_DELIVERY
    assert [c.status for c in out.checkpoints] == [
        TrackingStatus.INFO_RECEIVED,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
    ]
    assert out.checkpoints[-1].location == "Austin, TX, USA"
    # The latest estimate wins over the courier's first one.
    assert out.estimated_delivery_at == datetime(2026, 11, 19, 2, 0, tzinfo=UTC)
    back = result.snapshots["1Z999AA10123456784"]
    assert back.status == TrackingStatus.RETURNED_TO_SENDER
    assert back.checkpoints[0].status == TrackingStatus.FAILED_ATTEMPT
    assert back.estimated_delivery_at == datetime(2026, 11, 13, 23, 59, 59, tzinfo=UTC)
    assert result.snapshots["LX123456785CN"].status == TrackingStatus.PENDING
    created = [json.loads(r.content) for r in requests if r.method == "POST"]
    assert created == [
        {"tracking_number": "RR123456789CN"},
        {"tracking_number": "EXISTING12345", "slug": "dhl"},
    ]
    assert result.rejected == {}, "created and already-existing numbers are not errors"


async def test_aftership_bad_key_is_refused(clock: ManualClock) -> None:
    body = {
        "meta": {"code": 401, "type": "Unauthorized", "message": "Invalid API key."},
        "data": {},
    }
    adapter = AfterShipAdapter(
        make_transport(lambda _: httpx.Response(401, json=body), clock), "https://x.test", "bad"
    )
    with pytest.raises(CarrierRejected, match="401"):
        await adapter.track([Parcel("RR123456789CN")])


async def test_aftership_429_body_is_retried_after_its_header(
    carrier_response: Load, clock: ManualClock
) -> None:
    calls = [
        httpx.Response(
            429, headers={"retry-after": "1"}, json=carrier_response("aftership_too_many_requests")
        ),
        httpx.Response(200, json={"meta": {"code": 200}, "data": {"trackings": []}}),
        httpx.Response(201, json=carrier_response("aftership_create_tracking")),
    ]
    adapter = AfterShipAdapter(make_transport(lambda _: calls.pop(0), clock), "https://x.test", "k")
    result = await adapter.track([Parcel("RR123456789CN")])
    assert result.snapshots == {}
    assert calls == []


@pytest.mark.parametrize(
    ("tag", "returning", "expected"),
    [
        ("Pending", False, TrackingStatus.PENDING),
        ("InfoReceived", False, TrackingStatus.INFO_RECEIVED),
        ("InTransit", False, TrackingStatus.IN_TRANSIT),
        ("OutForDelivery", False, TrackingStatus.OUT_FOR_DELIVERY),
        ("AttemptFail", False, TrackingStatus.FAILED_ATTEMPT),
        ("Delivered", False, TrackingStatus.DELIVERED),
        ("Delivered", True, TrackingStatus.RETURNED_TO_SENDER),
        ("AvailableForPickup", False, TrackingStatus.AVAILABLE_FOR_PICKUP),
        ("Exception", True, TrackingStatus.EXCEPTION),
        ("Expired", False, TrackingStatus.EXPIRED),
    ],
)
def test_aftership_tags_map_onto_the_spec(
    tag: str, returning: bool, expected: TrackingStatus
) -> None:
    assert map_tag(tag, returning) == expected


async def test_the_simulator_adapter_reads_the_simulator(clock: ManualClock) -> None:
    body = {
        "trackings": [
            {
                "tracking_number": "SIMDLV00001",
                "carrier": "simpost",
                "status": "IN_TRANSIT",
                "estimated_delivery_at": "2026-11-23T10:00:00Z",
                "checkpoints": [
                    {
                        "at": "2026-11-20T09:00:00Z",
                        "status": "IN_TRANSIT",
                        "message": "Picked up",
                        "location": "Dallas, TX, US",
                    },
                    {
                        "at": "2026-11-20T08:00:00Z",
                        "status": "INFO_RECEIVED",
                        "message": "Label",
                        "location": "Dallas, TX, US",
                    },
                ],
            }
        ],
        "errors": [
            {"tracking_number": "bad!", "code": "invalid_tracking_number", "message": "5 to 50"}
        ],
    }
    seen: list[httpx.Request] = []

    def simulator(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body)

    adapter = SimulatorAdapter(make_transport(simulator, clock), "http://sim.test/")
    result = await adapter.track([Parcel("SIMDLV00001"), Parcel("bad!")])
    assert seen[0].url == "http://sim.test/v1/track"
    assert json.loads(seen[0].content) == {"tracking_numbers": ["SIMDLV00001", "bad!"]}
    snapshot = result.snapshots["SIMDLV00001"]
    assert [c.message for c in snapshot.checkpoints] == ["Label", "Picked up"]
    assert result.rejected == {"bad!": "5 to 50"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-18T14:02:00-06:00", datetime(2026, 11, 18, 20, 2, tzinfo=UTC)),
        ("2026-11-18T14:02:00Z", datetime(2026, 11, 18, 14, 2, tzinfo=UTC)),
        ("2022-01-21T15:00:00", datetime(2022, 1, 21, 15, 0, tzinfo=UTC)),
        ("2026-11-13", datetime(2026, 11, 13, 23, 59, 59, tzinfo=UTC)),
        ("", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_carrier_times_become_utc(text: str | None, expected: datetime | None) -> None:
    assert parse_time(text) == expected
