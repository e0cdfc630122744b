"""Top products, regions and delivery statistics, from the orders themselves.

Only the aggregation stages FerretDB 1.24 implements are used ($match, $unwind, $group with
one $sum each, decision 0032); percentiles are computed here from a bounded projection.

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
from orderlens_query.order_reader import OrderReader
from orderlens_query.runtime import Document
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


async def top_products(
    reader: OrderReader, shop_ids: Collection[str], window: Window, by: str, limit: int
) -> TopProducts:
    """One `$unwind` pipeline per currency and measure: FerretDB 1.24's `$unwind` keeps only
    `_id` and the unwound array, so the currency must be fixed by the `$match` (decision 0041)."""
    sold = _sold(shop_ids, window.start, window.end)
    rows: list[Document] = []
    for currency in sorted(await reader.count_by(sold, "money.currency")):
        if not isinstance(currency, str):
            continue
        sums = await reader.group_sums(
            [{"$match": {**sold, "money.currency": currency}}, {"$unwind": "$items"}],
            {
                "sku": "$items.sku_id",
                "name": "$items.product_name",
                "seller_sku": "$items.seller_sku",
            },
            {"units": "$items.quantity", "revenue": "$items.subtotal_after_discount", "orders": 1},
        )
        rows.extend(
            {
                "_id": {"sku": sku, "currency": currency, "name": name, "seller_sku": seller_sku},
                **values,
            }
            for (sku, name, seller_sku), values in sums.items()
        )
    return rank_products(rows, window, by, limit)


@dataclass
class _Product:
    sku_id: str
    seller_sku: str | None
    name: str
    name_units: int = -1
    units: int = 0
    orders: int = 0
    revenue: int = 0


def _rank_key(product: _Product, by: str) -> tuple[int, str]:
    return (-(product.units if by == "units" else product.revenue), product.sku_id)


def rank_products(rows: Sequence[Document], window: Window, by: str, limit: int) -> TopProducts:
    per_currency: dict[str, dict[str, _Product]] = defaultdict(dict)
    for row in rows:
        key = row["_id"]
        currency, sku = key["currency"], key["sku"]
        product = per_currency[currency].setdefault(
            sku, _Product(sku, key.get("seller_sku"), key.get("name") or "")
        )
        units = int(row["units"])
        # A renamed product keeps the name it sold most units under.
        if units > product.name_units:
            product.name, product.name_units = key.get("name") or "", units
            product.seller_sku = key.get("seller_sku")
        product.units += units
        product.orders += int(row["orders"])
        product.revenue += int(row["revenue"])
    currencies = []
    for currency, products in sorted(per_currency.items()):
        ranked = sorted(products.values(), key=lambda p: _rank_key(p, by))[:limit]
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
        from_=window.local(window.start), to=window.local(window.end), by=by, currencies=currencies
    )


# -- regions -------------------------------------------------------------------------------


async def _regions(
    reader: OrderReader, shop_ids: Collection[str], start: datetime, end: datetime, level: str
) -> list[Document]:
    key: dict[str, str] = {"country": "$recipient.country_code", "currency": "$money.currency"}
    if level == "state":
        key["state"] = "$recipient.state"
    sums = await reader.group_sums(
        [{"$match": _sold(shop_ids, start, end)}], key, {"orders": 1, "gross": "$money.total"}
    )
    return [{"_id": dict(zip(key, group, strict=True)), **values} for group, values in sums.items()]


def is_anomaly(orders: int, share: float, baseline_share: float | None) -> bool:
    base = baseline_share or 0.0
    return orders >= MIN_ORDERS and share - base >= 0.05 and share >= base * 1.5


async def region_stats(
    reader: OrderReader, shop_ids: Collection[str], window: Window, level: str
) -> RegionStats:
    baseline_start = window.start - (window.end - window.start) * BASELINE_WINDOWS
    current = await _regions(reader, shop_ids, window.start, window.end, level)
    baseline = await _regions(reader, shop_ids, baseline_start, window.start, level)
    return build_regions(current, baseline, window, baseline_start, level)


def _region_key(row: Document) -> tuple[str | None, str | None]:
    key = row["_id"]
    return key.get("country"), key.get("state")


def build_regions(
    current: Sequence[Document],
    baseline: Sequence[Document],
    window: Window,
    baseline_start: datetime,
    level: str,
) -> RegionStats:
    orders: dict[tuple[str | None, str | None], int] = defaultdict(int)
    gross: dict[tuple[str | None, str | None], dict[str, int]] = defaultdict(dict)
    for row in current:
        key = _region_key(row)
        orders[key] += int(row["orders"])
        currency = row["_id"]["currency"]
        gross[key][currency] = gross[key].get(currency, 0) + int(row["gross"])
    before: dict[tuple[str | None, str | None], int] = defaultdict(int)
    for row in baseline:
        before[_region_key(row)] += int(row["orders"])
    total, total_before = sum(orders.values()), sum(before.values())
    regions = []
    for key, count in orders.items():
        share = count / total
        baseline_share = before[key] / total_before if total_before else None
        regions.append(
            RegionStat(
                country_code=key[0],
                state=key[1] if level == "state" else None,
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
