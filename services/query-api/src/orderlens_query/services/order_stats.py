"""Top products, regions and delivery statistics, from the orders themselves.

Top products and regions are `$group` pipelines in the database over at most `max_orders` of the
window's orders (served by the `shop_paid` range of the shops; docs/decisions/0087); `truncated`
says when more orders matched (a bounded count). Delivery figures need every package's
checkpoints (percentiles), so they read one bounded projection and compute in Python.

Region anomaly rule: the baseline is the four windows of the same length just before the
window. A region is flagged when it has at least `MIN_ORDERS` orders in the window and its
share of orders rose by at least 5 percentage points and by half of its baseline share (a region
absent from the baseline counts from a share of zero).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderlens.domain.money import format_minor
from orderlens.domain.status import COLLECTED_TRACKING, OrderStatus, TrackingStatus
from orderlens.mongo import Document
from orderlens_query.adapters.order_reader import OrderReader
from orderlens_query.models.stats import (
    CarrierDelivery,
    CurrencyProducts,
    DeliveryStats,
    ProductRank,
    RegionGross,
    RegionStat,
    RegionStats,
    TopProducts,
    TransitHours,
)
from orderlens_query.windows import Window

MIN_ORDERS = 20
BASELINE_WINDOWS = 4
RULE = (
    f"share rose >= 5 points and >= 50% over the share in the {BASELINE_WINDOWS} preceding "
    f"windows of equal length, with >= {MIN_ORDERS} orders"
)


def _sold(shop_ids: Collection[str], start: datetime, end: datetime) -> dict[str, Any]:
    """Paid, not cancelled, in [start, end)."""
    return {
        "shop_id": {"$in": sorted(shop_ids)},
        "paid_at": {"$gte": start, "$lt": end},
        "status": {"$ne": OrderStatus.CANCELLED.value},
    }


# -- top products --------------------------------------------------------------------------

# Whole items: mongo-java-server 1.47 projects `items.<field>` of an array as an object of
# arrays (tests/conformance/, the projection-of-array-subfields gap), which `$unwind` then keeps.
_PRODUCT_PROJECTION = {"money.currency": 1, "items": 1}


async def top_products(
    reader: OrderReader,
    shop_ids: Collection[str],
    window: Window,
    by: str,
    limit: int,
    max_orders: int,
) -> TopProducts:
    query = _sold(shop_ids, window.start, window.end)
    rows = await reader.aggregate(
        [
            {"$match": query},
            {"$limit": max_orders},
            {"$project": _PRODUCT_PROJECTION},
            {"$unwind": "$items"},
            {
                "$group": {
                    "_id": {
                        "currency": "$money.currency",
                        "sku_id": "$items.sku_id",
                        "name": "$items.product_name",
                        "seller_sku": "$items.seller_sku",
                    },
                    "units": {"$sum": "$items.quantity"},
                    "revenue": {"$sum": "$items.subtotal_after_discount"},
                    "lines": {"$sum": 1},
                }
            },
        ]
    )
    truncated = await reader.count(query, limit=max_orders + 1) > max_orders
    return rank_products(rows, window, by, limit, truncated)


@dataclass
class _Product:
    sku_id: str
    seller_sku: str | None
    name: str
    units: int = 0
    orders: int = 0
    revenue: int = 0


def _rank_key(product: _Product, by: str) -> tuple[int, str]:
    return (-(product.units if by == "units" else product.revenue), product.sku_id)


def rank_products(
    rows: Sequence[Document], window: Window, by: str, limit: int, truncated: bool
) -> TopProducts:
    """Rank the `$group` rows of `top_products`: one per currency, product and name sold under."""
    per_currency: dict[str, dict[str, _Product]] = defaultdict(dict)
    names: dict[tuple[str, str], dict[tuple[str, str | None], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for row in rows:
        key = row["_id"]
        currency, sku = key["currency"], key["sku_id"]
        product = per_currency[currency].setdefault(sku, _Product(sku, None, ""))
        product.units += int(row["units"])
        product.revenue += int(row["revenue"])
        product.orders += int(row["lines"])
        names[(currency, sku)][(key["name"], key.get("seller_sku"))] += int(row["units"])
    currencies = []
    for currency, products in sorted(per_currency.items()):
        ranked = sorted(products.values(), key=lambda p: _rank_key(p, by))[:limit]
        for product in ranked:
            # A renamed product keeps the name it sold most units under.
            (name, seller_sku), _ = max(
                names[(currency, product.sku_id)].items(), key=lambda kv: (kv[1], kv[0][0])
            )
            product.name, product.seller_sku = name, seller_sku
        currencies.append(
            CurrencyProducts(
                currency=currency,
                products=[
                    ProductRank(
                        rank=i + 1,
                        sku_id=p.sku_id,
                        seller_sku=p.seller_sku,
                        product_name=p.name,
                        units=p.units,
                        orders=p.orders,
                        revenue=format_minor(p.revenue, currency),
                    )
                    for i, p in enumerate(ranked)
                ],
            )
        )
    return TopProducts(
        from_=window.local(window.start),
        to=window.local(window.end),
        by=by,
        truncated=truncated,
        currencies=currencies,
    )


# -- regions -------------------------------------------------------------------------------


def is_anomaly(orders: int, share: float, baseline_share: float | None) -> bool:
    base = baseline_share or 0.0
    return orders >= MIN_ORDERS and share - base >= 0.05 and share >= base * 1.5


async def region_stats(
    reader: OrderReader, shop_ids: Collection[str], window: Window, level: str, max_orders: int
) -> RegionStats:
    baseline_start = window.start - (window.end - window.start) * BASELINE_WINDOWS
    query = _sold(shop_ids, baseline_start, window.end)
    rows = await reader.aggregate(
        [
            {"$match": query},
            {"$limit": max_orders},
            {
                "$group": {
                    "_id": {
                        "country_code": "$recipient.country_code",
                        "state": "$recipient.state" if level == "state" else None,
                        "currency": "$money.currency",
                        "in_window": {"$gte": ["$paid_at", window.start]},
                    },
                    "orders": {"$sum": 1},
                    "gross": {"$sum": "$money.total"},
                }
            },
        ]
    )
    truncated = await reader.count(query, limit=max_orders + 1) > max_orders
    return build_regions(rows, window, baseline_start, level, truncated)


Region = tuple[str | None, str | None]


def build_regions(
    rows: Sequence[Document],
    window: Window,
    baseline_start: datetime,
    level: str,
    truncated: bool,
) -> RegionStats:
    orders: dict[Region, int] = defaultdict(int)
    gross: dict[Region, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    before: dict[Region, int] = defaultdict(int)
    for row in rows:
        group = row["_id"]
        key = (group.get("country_code"), group.get("state") if level == "state" else None)
        if group["in_window"]:
            orders[key] += int(row["orders"])
            gross[key][group["currency"]] += int(row["gross"])
        else:
            before[key] += int(row["orders"])
    total, total_before = sum(orders.values()), sum(before.values())
    regions = []
    for key, count in orders.items():
        share = count / total
        baseline_share = before[key] / total_before if total_before else None
        regions.append(
            RegionStat(
                country_code=key[0],
                state=key[1],
                orders=count,
                share=round(share, 4),
                baseline_orders=before[key],
                baseline_share=None if baseline_share is None else round(baseline_share, 4),
                anomaly=is_anomaly(count, share, baseline_share),
                gross=[
                    RegionGross(currency=c, gross=format_minor(v, c))
                    for c, v in sorted(gross[key].items())
                ],
            )
        )
    regions.sort(key=lambda r: (-r.orders, r.country_code or "", r.state or ""))
    return RegionStats(
        from_=window.local(window.start),
        to=window.local(window.end),
        level=level,
        baseline_from=window.local(baseline_start),
        baseline_to=window.local(window.start),
        rule=RULE,
        truncated=truncated,
        total_orders=total,
        regions=regions,
    )


# -- delivery ------------------------------------------------------------------------------

_DELIVERY_PROJECTION = {
    "packages": 1,
    "collected_at": 1,
    "shipped_at": 1,
    "delivered_at": 1,
    "estimated_delivery_at": 1,
}


@dataclass(frozen=True)
class Delivered:
    carrier: str
    delivered_at: datetime
    collected_at: datetime | None
    estimated_at: datetime | None


def delivered_packages(doc: Document) -> list[Delivered]:
    """The delivered packages of an order, with when they were collected and delivered."""
    out = []
    for package in doc.get("packages") or []:
        if package.get("tracking_status") != TrackingStatus.DELIVERED.value:
            continue
        checkpoints = sorted(package.get("checkpoints") or [], key=lambda c: c["at"])
        delivered = next(
            (c["at"] for c in checkpoints if c["status"] == TrackingStatus.DELIVERED.value),
            package.get("last_checkpoint_at") or doc.get("delivered_at"),
        )
        if delivered is None:
            continue
        collected = next(
            (c["at"] for c in checkpoints if TrackingStatus(c["status"]) in COLLECTED_TRACKING),
            doc.get("collected_at") or doc.get("shipped_at"),
        )
        out.append(
            Delivered(
                carrier=package.get("carrier") or "unknown",
                delivered_at=delivered,
                collected_at=collected,
                estimated_at=package.get("estimated_delivery_at")
                or doc.get("estimated_delivery_at"),
            )
        )
    return out


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def carrier_figures(carrier: str, packages: Sequence[Delivered]) -> CarrierDelivery:
    with_estimate = [p for p in packages if p.estimated_at is not None]
    on_time = sum(1 for p in with_estimate if p.estimated_at and p.delivered_at <= p.estimated_at)
    hours = sorted(
        round((p.delivered_at - p.collected_at).total_seconds() / 3600, 2)
        for p in packages
        if p.collected_at is not None and p.delivered_at >= p.collected_at
    )
    return CarrierDelivery(
        carrier=carrier,
        delivered=len(packages),
        with_estimate=len(with_estimate),
        on_time=on_time,
        on_time_rate=round(on_time / len(with_estimate), 4) if with_estimate else None,
        transit_hours=TransitHours(
            p50=percentile(hours, 50),
            p90=percentile(hours, 90),
            p95=percentile(hours, 95),
            p99=percentile(hours, 99),
        ),
        transit_measured=len(hours),
    )


async def delivery_stats(
    reader: OrderReader, shop_ids: Collection[str], window: Window, max_orders: int
) -> DeliveryStats:
    query = {
        "shop_id": {"$in": sorted(shop_ids)},
        "delivered_at": {"$gte": window.start, "$lt": window.end},
    }
    docs = await reader.find(query, _DELIVERY_PROJECTION, limit=max_orders + 1)
    truncated = len(docs) > max_orders
    return build_delivery(docs[:max_orders], window, truncated)


def build_delivery(docs: Sequence[Document], window: Window, truncated: bool) -> DeliveryStats:
    by_carrier: dict[str, list[Delivered]] = defaultdict(list)
    everything: list[Delivered] = []
    for doc in docs:
        for package in delivered_packages(doc):
            by_carrier[package.carrier].append(package)
            everything.append(package)
    return DeliveryStats(
        from_=window.local(window.start),
        to=window.local(window.end),
        truncated=truncated,
        overall=carrier_figures("all", everything),
        carriers=[carrier_figures(c, ps) for c, ps in sorted(by_carrier.items())],
    )
