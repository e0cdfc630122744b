"""Which packages to track, learnt from order events (the service layer of the consumer).

- `orders.created`: every tracking number of an order that is not finished yet (from its line
  items, which say which package each belongs to, and from the order's own tracking number).
- `orders.status-changed`: a package with a tracking number (a seller's "ship" action, a
  platform update) starts or refreshes its job; a cancelled or completed order stops its jobs;
  a package another source reports in a final state stops its job. The tracker's own carrier
  events are recognised by their source and change nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from orderlens.consumer import Outcome
from orderlens.domain.status import TERMINAL_TRACKING, OrderStatus
from orderlens.events import CloudEvent, OrderCreated, StatusChanged, StatusSource
from orderlens_tracker.domain import EVENT_SOURCE, Package

# No parcel to follow once an order has reached one of these.
_FINISHED = frozenset({OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.CANCELLED})
_STOPPING = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED})


@dataclass
class Intake:
    """What a batch of events asks of the job store."""

    track: list[Package] = field(default_factory=list)
    stop_orders: dict[str, str] = field(default_factory=dict)
    stop_packages: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


class JobWriter(Protocol):
    async def track(self, package: Package, now: datetime) -> None: ...

    async def stop_order(self, order_id: str, reason: str, now: datetime) -> None: ...

    async def stop(self, tracking_number: str, reason: str, now: datetime) -> None: ...


def packages_of_order(event: CloudEvent[OrderCreated]) -> list[Package]:
    order = event.data.order
    if order.status in _FINISHED:
        return []
    found: dict[str, Package] = {}
    for line in order.line_items:
        number = (line.tracking_number or "").strip()
        if number and number not in found:
            found[number] = Package(
                tracking_number=number,
                order_id=order.id,
                shop_id=event.data.shop_id,
                package_id=line.package_id,
                carrier=line.shipping_provider_name or order.shipping_provider,
            )
    number = (order.tracking_number or "").strip()
    if number and number not in found:
        only_package = order.packages[0].id if len(order.packages) == 1 else None
        found[number] = Package(
            tracking_number=number,
            order_id=order.id,
            shop_id=event.data.shop_id,
            package_id=only_package,
            carrier=order.shipping_provider,
        )
    return list(found.values())


def read(
    created: Sequence[CloudEvent[OrderCreated]] = (),
    changes: Sequence[CloudEvent[StatusChanged]] = (),
) -> Intake:
    """Plan the job changes of a batch. The plan does not depend on the order of the events
    within the batch: `apply` tracks first and stops after, and a stopped job is never
    re-activated, so a cancellation wins over a shipment of the same batch."""
    intake = Intake()
    for event in created:
        order = event.data.order
        if order.status in _FINISHED:
            intake.stop_orders[order.id] = f"order {order.status.value}"
            continue
        packages = packages_of_order(event)
        intake.track.extend(packages)
        if not packages:
            intake.ignored.append("no_tracking_number")
    for change in changes:
        _read_status_change(change, intake)
    return intake


def _read_status_change(event: CloudEvent[StatusChanged], intake: Intake) -> None:
    data = event.data
    if event.source == EVENT_SOURCE:
        intake.ignored.append("own_event")
        return
    if data.status in _STOPPING:
        intake.stop_orders[data.order_id] = f"order {data.status.value}"
        return
    package = data.package
    if package is None or not package.tracking_number:
        intake.ignored.append("no_tracking_number")
        return
    if package.tracking_status in TERMINAL_TRACKING:
        intake.stop_packages[package.tracking_number] = (
            f"{data.source.value} reported {package.tracking_status.value}"
        )
        return
    if data.source == StatusSource.CARRIER:
        # Another tracker or connector follows this parcel too; this one keeps polling.
        intake.ignored.append("carrier_update")
        return
    intake.track.append(
        Package(
            tracking_number=package.tracking_number,
            order_id=data.order_id,
            shop_id=data.shop_id,
            package_id=package.package_id,
            carrier=package.carrier,
        )
    )


async def apply(intake: Intake, jobs: JobWriter, now: datetime) -> int:
    """Carry out the plan; every write is idempotent. Answer the number of writes."""
    for package in intake.track:
        await jobs.track(package, now)
    for order_id, reason in intake.stop_orders.items():
        await jobs.stop_order(order_id, reason, now)
    for number, reason in intake.stop_packages.items():
        await jobs.stop(number, reason, now)
    return len(intake.track) + len(intake.stop_orders) + len(intake.stop_packages)


async def take_in(
    created: Sequence[CloudEvent[OrderCreated]],
    changes: Sequence[CloudEvent[StatusChanged]],
    jobs: JobWriter,
    now: datetime,
) -> Outcome:
    """The use case of one batch of order events: plan, carry out, count for the metrics."""
    plan = read(created, changes)
    await apply(plan, jobs, now)
    return Outcome(
        applied=len(created) + len(changes) - len(plan.ignored), ignored=Counter(plan.ignored)
    )
