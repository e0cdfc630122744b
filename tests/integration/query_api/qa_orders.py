"""Stored orders for the query-api tests: the seed generator's orders, normalised, then given
the tracking, return and risk state that order-ingest and status-tracker would add."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from orderlens.domain.order import Checkpoint, Order, PackageDoc, RiskFlag
from orderlens.domain.status import ISSUE_TRACKING, OrderStatus, ReturnStatus, TrackingStatus
from orderlens.normalise import normalise
from orderlens.tiktok import TikTokOrder
from orderlens_devtools.seed import SeedConfig, generate_order, shop_ids

IN_TRANSIT_TRACKING = (
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.OUT_FOR_DELIVERY,
    TrackingStatus.AVAILABLE_FOR_PICKUP,
    TrackingStatus.FAILED_ATTEMPT,
    TrackingStatus.EXCEPTION,
)
RISKS = ("high_value", "address_mismatch", "new_buyer")
# Seeded orders lie in the days before the current hour, so "stalled" means something.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _packages(order: Order, rng: random.Random, now: datetime) -> list[PackageDoc]:
    packages = []
    for package in order.packages:
        base = order.collected_at or order.shipped_at or order.created_at + timedelta(days=1)
        if order.status in (OrderStatus.DELIVERED, OrderStatus.COMPLETED):
            status = TrackingStatus.DELIVERED
        elif order.status == OrderStatus.IN_TRANSIT:
            status = rng.choice(IN_TRANSIT_TRACKING)
        elif order.status == OrderStatus.AWAITING_COLLECTION:
            status = rng.choice((TrackingStatus.PENDING, TrackingStatus.INFO_RECEIVED))
        else:
            status = TrackingStatus.PENDING
        checkpoints = []
        if status != TrackingStatus.PENDING:
            checkpoints.append(Checkpoint(at=base, status=TrackingStatus.INFO_RECEIVED))
        if status not in (TrackingStatus.PENDING, TrackingStatus.INFO_RECEIVED):
            delivered = None
            if status == TrackingStatus.DELIVERED:
                delivered = order.delivered_at or base + timedelta(hours=rng.randint(20, 120))
            last = delivered or now
            hops = rng.randint(1, 3)
            for hop in range(1, hops + 1):
                at = (base + (last - base) * hop / (hops + 1)).replace(microsecond=0)
                checkpoints.append(Checkpoint(at=at, status=TrackingStatus.IN_TRANSIT))
            if delivered is not None:
                checkpoints.append(Checkpoint(at=delivered, status=TrackingStatus.DELIVERED))
            elif status != TrackingStatus.IN_TRANSIT:
                at = (base + (now - base) * 0.9).replace(microsecond=0)
                checkpoints.append(Checkpoint(at=at, status=status))
        estimate = base + timedelta(hours=rng.choice((48, 72, 96, 120)))
        packages.append(
            package.model_copy(
                update={
                    "tracking_status": status,
                    "checkpoints": checkpoints,
                    "last_checkpoint_at": checkpoints[-1].at if checkpoints else None,
                    "estimated_delivery_at": estimate if rng.random() < 0.9 else None,
                }
            )
        )
    return packages


def make_order(config: SeedConfig, index: int, now: datetime) -> Order:
    seeded = generate_order(config, index)
    order = normalise(seeded.shop_id, TikTokOrder.model_validate(seeded.final), now)
    rng = random.Random(f"qa:{config.seed}:{index}")
    packages = _packages(order, rng, now)
    statuses = [p.tracking_status for p in packages]
    returned = order.status in (OrderStatus.DELIVERED, OrderStatus.COMPLETED)
    return_status = (
        rng.choice([s for s in ReturnStatus if s != ReturnStatus.NONE])
        if returned and rng.random() < 0.12
        else ReturnStatus.NONE
    )
    risk = sorted({r for r in RISKS if rng.random() < 0.04})
    checkpoints = [p.last_checkpoint_at for p in packages if p.last_checkpoint_at]
    estimates = [p.estimated_delivery_at for p in packages if p.estimated_delivery_at]
    return order.model_copy(
        update={
            "packages": packages,
            "return_status": return_status,
            "tracking_statuses": sorted(set(statuses)),
            "delivery_issue": any(s in ISSUE_TRACKING for s in statuses),
            "last_checkpoint_at": max(checkpoints) if checkpoints else None,
            "estimated_delivery_at": max(estimates) if estimates else None,
            "risk": risk,
            "risk_flags": [RiskFlag(code=r, reason=f"rule {r} matched") for r in risk],
        }
    )


def make_orders(
    count: int, *, seed: int = 7, shops: int = 3, days: int = 60, end: datetime | None = None
) -> tuple[list[Order], list[str]]:
    end = end or datetime(2025, 3, 20, tzinfo=UTC)
    config = SeedConfig(orders=count, shops=shops, days=days, seed=seed, end=end)
    return [make_order(config, i, end) for i in range(count)], shop_ids(config)


def documents(orders: list[Order]) -> list[dict[str, Any]]:
    return [order.to_document() for order in orders]
