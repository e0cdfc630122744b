"""Stored orders for the export tests: the seed generator's, normalised, with the tracking state
status-tracker would add and a few hostile or non-ASCII texts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from orderlens.domain.order import Order, PackageDoc
from orderlens.domain.status import OrderStatus, TrackingStatus
from orderlens.normalise import normalise
from orderlens.tiktok import TikTokOrder
from orderlens_devtools.seed import SeedConfig, final_snapshots, shop_ids

END = datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
HOSTILE = ('=HYPERLINK("http://evil.example","x")', "+1 call me", "@SUM(A1:A9)", "-5 off")


def _tracked(order: Order, rng: random.Random) -> Order:
    if order.status not in (OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED, OrderStatus.COMPLETED):
        return order
    delivered = order.status != OrderStatus.IN_TRANSIT
    packages: list[PackageDoc] = [
        p.model_copy(
            update={
                "tracking_status": TrackingStatus.DELIVERED
                if delivered
                else TrackingStatus.IN_TRANSIT,
                "estimated_delivery_at": order.created_at + timedelta(days=rng.randint(3, 6)),
            }
        )
        for p in order.packages
    ]
    return order.model_copy(
        update={
            "packages": packages,
            "tracking_statuses": sorted({p.tracking_status for p in packages}),
        }
    )


def make_orders(count: int, *, seed: int, shops: int = 3) -> tuple[list[Order], list[str]]:
    config = SeedConfig(orders=count, shops=shops, seed=seed, days=60, end=END)
    rng = random.Random(seed)
    orders = []
    for index, snapshot in enumerate(final_snapshots(config)):
        order = _tracked(normalise(snapshot.shop_id, snapshot.order, END), rng)
        if index % 7 == 0:
            order = order.model_copy(update={"seller_note": HOSTILE[index % len(HOSTILE)]})
        if index % 11 == 0:
            order = order.model_copy(
                update={
                    "buyer": order.buyer.model_copy(
                        update={"message": 'Zoë: 東京, "fragile"\nthanks'}
                    )
                }
            )
        orders.append(order)
    return orders, shop_ids(config)


def wide_orders(count: int, *, skus: int, shop_id: str, seed: int) -> list[dict[str, Any]]:
    """`count` order documents of one shop with `skus` SKUs each (so count * skus line rows),
    made from a few distinct orders under new ids."""
    distinct = []
    for snapshot in final_snapshots(SeedConfig(orders=50, shops=1, seed=seed, end=END)):
        raw = snapshot.order.model_dump(mode="json", exclude_none=True)
        line = raw["line_items"][0]
        raw["line_items"] = [
            {**line, "id": f"{line['id']}{k:02d}", "sku_id": f"{line['sku_id']}{k:02d}"}
            for k in range(skus)
        ]
        distinct.append(normalise(shop_id, TikTokOrder.model_validate(raw), END).to_document())
    documents = []
    for index in range(count):
        document = dict(distinct[index % len(distinct)])
        document["_id"] = f"8{seed:03d}{index:014d}"
        documents.append(document)
    return documents
