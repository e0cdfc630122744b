"""Which packages the tracker follows, learnt from order events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orderlens.domain.status import TrackingStatus
from orderlens.events import (
    OrderCreated,
    PackageUpdate,
    StatusChanged,
    StatusSource,
    make_event,
)
from orderlens.tiktok import TikTokOrder
from orderlens_tracker.domain import EVENT_SOURCE, Package
from orderlens_tracker.services import intake

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def created(status: str = "AWAITING_COLLECTION", **extra: Any) -> Any:
    lines = [
        {
            "id": "1",
            "sku_id": "a",
            "product_name": "Mug",
            "sale_price": "5",
            "package_id": "p1",
            "tracking_number": "TN0001",
            "shipping_provider_name": "USPS",
        },
        {
            "id": "2",
            "sku_id": "a",
            "product_name": "Mug",
            "sale_price": "5",
            "package_id": "p1",
            "tracking_number": "TN0001",
            "shipping_provider_name": "USPS",
        },
        {
            "id": "3",
            "sku_id": "b",
            "product_name": "Lid",
            "sale_price": "2",
            "package_id": "p2",
            "tracking_number": "TN0002",
        },
        {"id": "4", "sku_id": "c", "product_name": "Box", "sale_price": "2"},
    ]
    order = TikTokOrder.model_validate(
        {
            "id": "576461413038785752",
            "status": status,
            "create_time": 1,
            "update_time": 2,
            "payment": {"currency": "USD", "total_amount": "14"},
            "line_items": lines,
            "shipping_provider": "UPS",
            **extra,
        }
    )
    return make_event(OrderCreated(shop_id="shop-1", order=order), source="t", subject=order.id)


def changed(
    source: StatusSource = StatusSource.SELLER, *, event_source: str = "query-api", **data: Any
) -> Any:
    body = StatusChanged(
        order_id="576461413038785752", shop_id="shop-1", occurred_at=NOW, source=source, **data
    )
    return make_event(body, source=event_source, subject=body.order_id)


def test_a_shipped_order_is_followed_package_by_package() -> None:
    plan = intake.read(created=[created()])
    assert plan.track == [
        Package("TN0001", "576461413038785752", "shop-1", "p1", "USPS"),
        Package("TN0002", "576461413038785752", "shop-1", "p2", "UPS"),
    ]


def test_the_order_level_tracking_number_counts_too() -> None:
    plan = intake.read(created=[created(tracking_number="TN0009", packages=[{"id": "p9"}])])
    assert Package("TN0009", "576461413038785752", "shop-1", "p9", "UPS") in plan.track


def test_an_unshipped_order_has_nothing_to_follow() -> None:
    event = created()
    order = event.data.order.model_copy(update={"line_items": event.data.order.line_items[3:]})
    plan = intake.read(
        created=[
            make_event(OrderCreated(shop_id="shop-1", order=order), source="t", subject=order.id)
        ]
    )
    assert plan.track == []
    assert plan.ignored == ["no_tracking_number"]


def test_a_finished_order_stops_its_jobs() -> None:
    for status in ("DELIVERED", "COMPLETED", "CANCELLED"):
        plan = intake.read(created=[created(status)])
        assert plan.track == []
        assert plan.stop_orders == {"576461413038785752": f"order {status}"}


def test_a_seller_ship_action_starts_a_job() -> None:
    package = PackageUpdate(package_id="p1", carrier="fedex", tracking_number="TN0003")
    plan = intake.read(changes=[changed(status="AWAITING_COLLECTION", package=package)])
    assert plan.track == [Package("TN0003", "576461413038785752", "shop-1", "p1", "fedex")]


def test_the_trackers_own_events_change_nothing() -> None:
    package = PackageUpdate(tracking_number="TN0003", tracking_status=TrackingStatus.DELIVERED)
    plan = intake.read(
        changes=[changed(StatusSource.CARRIER, event_source=EVENT_SOURCE, package=package)]
    )
    assert plan == intake.Intake(ignored=["own_event"])


def test_another_source_reporting_a_final_state_stops_the_job() -> None:
    package = PackageUpdate(tracking_number="TN0003", tracking_status=TrackingStatus.DELIVERED)
    plan = intake.read(
        changes=[changed(StatusSource.CARRIER, event_source="connector", package=package)]
    )
    assert plan.stop_packages == {"TN0003": "carrier reported DELIVERED"}
    moving = PackageUpdate(tracking_number="TN0003", tracking_status=TrackingStatus.IN_TRANSIT)
    assert (
        intake.read(
            changes=[changed(StatusSource.CARRIER, event_source="connector", package=moving)]
        ).track
        == []
    )


def test_cancelling_or_completing_stops_the_order() -> None:
    plan = intake.read(changes=[changed(status="CANCELLED", reason="buyer asked")])
    assert plan.stop_orders == {"576461413038785752": "order CANCELLED"}


class RecordingJobs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    async def track(self, package: Package, now: datetime) -> None:
        self.calls.append(("track", package.tracking_number))

    async def stop_order(self, order_id: str, reason: str, now: datetime) -> None:
        self.calls.append(("stop_order", order_id))

    async def stop(self, tracking_number: str, reason: str, now: datetime) -> None:
        self.calls.append(("stop", tracking_number))


async def test_the_plan_is_carried_out() -> None:
    jobs = RecordingJobs()
    package = PackageUpdate(tracking_number="TN0007", tracking_status=TrackingStatus.DELIVERED)
    plan = intake.read(
        created=[created()],
        changes=[changed(StatusSource.PLATFORM, event_source="tiktok", package=package)],
    )
    assert await intake.apply(plan, jobs, NOW) == 3
    assert jobs.calls == [("track", "TN0001"), ("track", "TN0002"), ("stop", "TN0007")]
