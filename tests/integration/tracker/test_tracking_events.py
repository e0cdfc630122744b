"""A shipped order's parcel is followed to the end, and each change becomes one carrier event."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx
from trk_support import (
    EventReader,
    StartTracker,
    order_created,
    publish,
    simulator_stats,
)

from orderlens.domain.status import TrackingStatus
from orderlens.events import CloudEvent, StatusChanged, StatusSource
from orderlens.waiting import wait_for
from orderlens_devtools.carrier_simulator import RunningSimulator
from orderlens_tracker.settings import TrackerSettings


def _of(events: list[CloudEvent[StatusChanged]], order_id: str) -> list[CloudEvent[StatusChanged]]:
    return [e for e in events if e.subject == order_id]


def _final(
    status: TrackingStatus, order_id: str
) -> Callable[[list[CloudEvent[StatusChanged]]], bool]:
    def done(events: list[CloudEvent[StatusChanged]]) -> bool:
        return any(
            e.data.package is not None and e.data.package.tracking_status == status
            for e in _of(events, order_id)
        )

    return done


async def test_shipped_order_reaches_delivered_through_carrier_events(
    simulator: RunningSimulator,
    tracker_settings: Callable[..., TrackerSettings],
    start_tracker: StartTracker,
    event_reader: EventReader,
    kafka_bootstrap_servers: str,
) -> None:
    settings = tracker_settings(simulator.url)
    app = await start_tracker(settings)
    order_id = f"58{uuid.uuid4().int % 10**16:016d}"
    number = f"SIMDLV{uuid.uuid4().hex[:12].upper()}"
    await publish(
        kafka_bootstrap_servers, settings.topic_orders_created, [order_created(order_id, number)]
    )

    events = _of(
        await event_reader.read_until(_final(TrackingStatus.DELIVERED, order_id), within=60),
        order_id,
    )

    packages = [e.data.package for e in events if e.data.package is not None]
    statuses = [p.tracking_status for p in packages]
    # The first event is the first change a poll saw: where that poll falls in the journey (100,000
    # times faster than real time) depends on the machine's load, so only the end is fixed here;
    # the journey from the label onwards is checked on the final checkpoints below.
    assert statuses[0] != TrackingStatus.DELIVERED
    assert statuses[-1] == TrackingStatus.DELIVERED
    assert TrackingStatus.IN_TRANSIT in statuses
    assert len(events) >= 3, "progress is reported along the way, not only at the end"
    assert all(e.data.source == StatusSource.CARRIER and e.data.status is None for e in events)
    assert all(p.tracking_number == number and p.carrier == "simpost" for p in packages)
    assert all(p.package_id == f"pkg-{order_id}" for p in packages)
    assert len({e.id for e in events}) == len(events), "every change is a distinct event"
    # The last event carries the whole journey as the carrier tells it.
    async with httpx.AsyncClient() as client:
        view = (
            await client.post(f"{simulator.url}/v1/track", json={"tracking_numbers": [number]})
        ).json()
    carrier_checkpoints = view["trackings"][0]["checkpoints"]
    final = packages[-1]
    assert len(final.checkpoints) == len(carrier_checkpoints)
    assert [c.message for c in final.checkpoints] == [
        c["message"] for c in reversed(carrier_checkpoints)
    ]
    assert final.checkpoints[0].status == TrackingStatus.INFO_RECEIVED
    assert [c.status for c in final.checkpoints][-2:] == [
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    ]
    assert final.estimated_delivery_at is not None

    # Delivered is final: the job stops and the parcel is not polled any more.
    def job_stopped(tracking_number: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            doc = await app.jobs.collection.find_one({"_id": tracking_number})
            return doc is not None and doc["active"] is False

        return check

    await wait_for(job_stopped(number), within=10, what="the job to stop")
    polled = (await simulator_stats(simulator, per_number=True))["polls_per_number"][number]
    # A later marker parcel, followed to its own delivery: its journey spans several cadences,
    # in which the first parcel would have been polled again had its job not stopped.
    marker_order = f"58{uuid.uuid4().int % 10**16:016d}"
    marker = f"SIMDLV{uuid.uuid4().hex[:12].upper()}"
    await publish(
        kafka_bootstrap_servers,
        settings.topic_orders_created,
        [order_created(marker_order, marker)],
    )
    await wait_for(job_stopped(marker), within=60, what="the marker parcel's delivery")
    after = (await simulator_stats(simulator, per_number=True))["polls_per_number"]
    assert after[marker] >= 3, "the marker did not outlast several cadences"
    assert after[number] == polled


async def test_a_parcel_with_an_exception_is_reported_as_exception(
    simulator: RunningSimulator,
    tracker_settings: Callable[..., TrackerSettings],
    start_tracker: StartTracker,
    event_reader: EventReader,
    kafka_bootstrap_servers: str,
) -> None:
    settings = tracker_settings(simulator.url)
    await start_tracker(settings)
    order_id = f"58{uuid.uuid4().int % 10**16:016d}"
    number = f"SIMEXC{uuid.uuid4().hex[:12].upper()}"
    await publish(
        kafka_bootstrap_servers, settings.topic_orders_created, [order_created(order_id, number)]
    )

    events = _of(
        await event_reader.read_until(_final(TrackingStatus.EXCEPTION, order_id), within=60),
        order_id,
    )

    exception = next(
        e.data.package
        for e in events
        if e.data.package is not None and e.data.package.tracking_status == TrackingStatus.EXCEPTION
    )
    assert exception.checkpoints[-1].status == TrackingStatus.EXCEPTION
    assert exception.checkpoints[-1].message
