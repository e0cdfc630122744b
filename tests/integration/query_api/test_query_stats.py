"""Sales, top-products, regions and delivery stats equal a recount of the orders themselves,
including across the daylight-saving change of 9 March 2025 in New York."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from qa_api import Api, start_api
from qa_orders import documents, make_orders

from orderlens.domain.money import format_minor
from orderlens.domain.order import Address, Order
from orderlens.domain.sales import SalesBucket
from orderlens.domain.status import OrderStatus, TrackingStatus
from orderlens.roles import Role

END = datetime(2025, 3, 20, tzinfo=UTC)
NY = ZoneInfo("America/New_York")
FIRST, LAST = date(2025, 3, 1), date(2025, 3, 15)  # 9 March is 23 hours long in New York


def buckets_of(orders: list[Order]) -> list[dict[str, Any]]:
    """The 15-minute sales buckets order-ingest keeps, recounted here from the orders."""
    sums: dict[tuple[str, str, datetime], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("orders", "units", "gross", "cancelled", "cancelled_gross"), 0)
    )
    for order in orders:
        if order.paid_at is None:
            continue
        paid = order.paid_at.astimezone(UTC)
        start = paid.replace(minute=paid.minute // 15 * 15, second=0, microsecond=0)
        bucket = sums[(order.shop_id, order.money.currency, start)]
        bucket["orders"] += 1
        bucket["units"] += order.units
        bucket["gross"] += order.money.total
        if order.status == OrderStatus.CANCELLED:
            bucket["cancelled"] += 1
            bucket["cancelled_gross"] += order.money.total
    return [
        SalesBucket(shop_id=shop, currency=currency, start=start, **values).to_document()
        for (shop, currency, start), values in sums.items()
    ]


@pytest_asyncio.fixture(scope="module")
async def api(
    mongo_client: AsyncMongoClient[dict[str, Any]], mongodb_uri: str
) -> AsyncIterator[Api]:
    orders, shops = make_orders(700, seed=5, shops=4, days=60, end=END)
    async for running in start_api(mongo_client, mongodb_uri, orders, shops):
        await running.db.sales_buckets.insert_many(buckets_of(orders))
        yield running


def ny_day(moment: datetime | None) -> date:
    assert moment is not None
    return moment.astimezone(NY).date()


def paid_between(api: Api, first: date, last: date) -> list[Order]:
    return [o for o in api.orders if o.paid_at and first <= ny_day(o.paid_at) <= last]


def figures(orders: list[Order], currency: str) -> dict[str, Any]:
    gross = sum(o.money.total for o in orders)
    cancelled = [o for o in orders if o.status == OrderStatus.CANCELLED]
    average = (
        format_minor(
            int((Decimal(gross) / len(orders)).quantize(Decimal(1), ROUND_HALF_EVEN)), currency
        )
        if orders
        else None
    )
    return {
        "orders": len(orders),
        "units": sum(o.units for o in orders),
        "gross": format_minor(gross, currency),
        "cancelled": len(cancelled),
        "cancelled_gross": format_minor(sum(o.money.total for o in cancelled), currency),
        "average_order_value": average,
    }


def only_figures(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in figures([], "USD")}


async def sales(api: Api, **params: str) -> dict[str, Any]:
    base = {"from": FIRST.isoformat(), "to": LAST.isoformat(), "tz": "America/New_York"}
    response = await api.get("/v1/stats/sales", {**base, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_daily_sales_equal_a_recount_across_dst(api: Api) -> None:
    body = await sales(api, interval="day", compare="previous_period")
    in_window = paid_between(api, FIRST, LAST)
    currencies = sorted({o.money.currency for o in in_window})
    assert [c["currency"] for c in body["currencies"]] == currencies
    for entry in body["currencies"]:
        currency = entry["currency"]
        mine = [o for o in in_window if o.money.currency == currency]
        assert [p["label"] for p in entry["periods"]] == [
            (FIRST + timedelta(days=i)).isoformat() for i in range(15)
        ]
        for period in entry["periods"]:
            day = date.fromisoformat(period["label"])
            expected = figures([o for o in mine if ny_day(o.paid_at) == day], currency)
            assert only_figures(period) == expected, day
        assert only_figures(entry["totals"]) == figures(mine, currency)
        before = [
            o
            for o in paid_between(api, FIRST - timedelta(days=15), FIRST - timedelta(days=1))
            if o.money.currency == currency
        ]
        assert only_figures(entry["comparison"]) == figures(before, currency)
        if before:
            expected_delta = round((len(mine) - len(before)) * 100 / len(before), 2)
            assert entry["delta_pct"]["orders"] == expected_delta
    dst_day = next(p for p in body["currencies"][0]["periods"] if p["label"] == "2025-03-09")
    start, end = datetime.fromisoformat(dst_day["start"]), datetime.fromisoformat(dst_day["end"])
    assert end - start == timedelta(hours=23)
    assert body["comparison_from"].startswith("2025-02-14T00:00:00-05:00")


async def test_weekly_and_monthly_sales(api: Api) -> None:
    weekly = await sales(api, interval="week")
    entry = weekly["currencies"][0]
    currency = entry["currency"]
    mine = [o for o in paid_between(api, FIRST, LAST) if o.money.currency == currency]
    # Weeks start on Monday: 1-2 March belong to the week of 24 February, clipped.
    assert [p["label"] for p in entry["periods"]] == ["2025-02-24", "2025-03-03", "2025-03-10"]
    for period, (first, last) in zip(
        entry["periods"],
        [
            (FIRST, date(2025, 3, 2)),
            (date(2025, 3, 3), date(2025, 3, 9)),
            (date(2025, 3, 10), LAST),
        ],
        strict=True,
    ):
        expected = figures([o for o in mine if first <= ny_day(o.paid_at) <= last], currency)
        assert only_figures(period) == expected
    monthly = await sales(api, interval="month", **{"from": "2025-02-10", "to": "2025-03-15"})
    entry = next(c for c in monthly["currencies"] if c["currency"] == currency)
    assert [p["label"] for p in entry["periods"]] == ["2025-02", "2025-03"]
    february = [
        o
        for o in paid_between(api, date(2025, 2, 10), date(2025, 2, 28))
        if o.money.currency == currency
    ]
    assert only_figures(entry["periods"][0]) == figures(february, currency)


async def test_sales_of_one_shop_and_currency(api: Api) -> None:
    body = await sales(api, shop_id=api.shops[3], currency="jpy")
    [entry] = body["currencies"]
    assert entry["currency"] == "JPY"
    mine = [o for o in paid_between(api, FIRST, LAST) if o.shop_id == api.shops[3]]
    assert only_figures(entry["totals"]) == figures(mine, "JPY")


async def test_top_products_equal_a_recount(api: Api) -> None:
    sold = [o for o in paid_between(api, FIRST, LAST) if o.status != OrderStatus.CANCELLED]
    for by in ("units", "revenue"):
        response = await api.get(
            "/v1/stats/top-products",
            {
                "from": FIRST.isoformat(),
                "to": LAST.isoformat(),
                "tz": "America/New_York",
                "by": by,
                "limit": "5",
            },
        )
        assert response.status_code == 200, response.text
        for entry in response.json()["currencies"]:
            currency = entry["currency"]
            units: dict[str, int] = defaultdict(int)
            revenue: dict[str, int] = defaultdict(int)
            for order in sold:
                if order.money.currency == currency:
                    for item in order.items:
                        units[item.sku_id] += item.quantity
                        revenue[item.sku_id] += item.subtotal_after_discount
            metric = units if by == "units" else revenue
            expected = sorted(metric, key=lambda sku: (-metric[sku], sku))[:5]
            assert [p["sku_id"] for p in entry["products"]] == expected
            for product in entry["products"]:
                assert product["units"] == units[product["sku_id"]]
                assert product["revenue"] == format_minor(revenue[product["sku_id"]], currency)


async def test_regions_and_their_anomaly_flag(api: Api) -> None:
    window = {"from": FIRST.isoformat(), "to": LAST.isoformat(), "tz": "America/New_York"}
    response = await api.get("/v1/stats/regions", {**window, "level": "country"})
    assert response.status_code == 200, response.text
    body = response.json()
    sold = [o for o in paid_between(api, FIRST, LAST) if o.status != OrderStatus.CANCELLED]
    by_country: dict[str, int] = defaultdict(int)
    for order in sold:
        by_country[order.recipient.country_code or ""] += 1
    assert {r["country_code"]: r["orders"] for r in body["regions"]} == dict(by_country)
    assert body["total_orders"] == len(sold)
    assert not any(r["anomaly"] for r in body["regions"])

    # A burst of orders to one state of a shop of its own, against a quiet baseline.
    burst_shop = "anomaly-shop"
    base = api.orders[0]
    paid = datetime(2025, 3, 5, 15, tzinfo=UTC)
    burst = []
    for i in range(60):
        texas = i < 35
        recipient = Address(country_code="US", state="Texas" if texas else "Ohio", city="X")
        when = paid if i < 45 else paid - timedelta(days=20)  # 15 baseline orders, in Ohio
        if i >= 45:
            recipient = Address(country_code="US", state="Ohio", city="X")
        burst.append(
            base.model_copy(
                update={
                    "id": f"burst-{i}",
                    "shop_id": burst_shop,
                    "status": OrderStatus.COMPLETED,
                    "paid_at": when,
                    "recipient": recipient,
                }
            )
        )
    await api.db.orders.insert_many(documents(burst))
    response = await api.client.get(
        "/v1/stats/regions",
        params={**window, "level": "state"},
        headers=api.auth(Role.ANALYST, [burst_shop]),
    )
    regions = {r["state"]: r for r in response.json()["regions"]}
    assert regions["Texas"]["orders"] == 35
    assert regions["Texas"]["baseline_orders"] == 0
    assert regions["Texas"]["anomaly"] is True
    assert regions["Ohio"]["orders"] == 10
    assert regions["Ohio"]["baseline_share"] == 1.0
    assert regions["Ohio"]["anomaly"] is False


def nearest_rank(values: list[float], p: int) -> float | None:
    if not values:
        return None
    return sorted(values)[max(1, math.ceil(p * len(values) / 100)) - 1]


async def test_delivery_stats_equal_a_recount(api: Api) -> None:
    start = datetime(2025, 3, 1, tzinfo=NY)
    end = datetime(2025, 3, 16, tzinfo=NY)
    response = await api.get(
        "/v1/stats/delivery",
        {"from": FIRST.isoformat(), "to": LAST.isoformat(), "tz": "America/New_York"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    per_carrier: dict[str, list[tuple[datetime, datetime | None, datetime | None]]] = defaultdict(
        list
    )
    for order in api.orders:
        if order.delivered_at is None or not start <= order.delivered_at < end:
            continue
        for package in order.packages:
            if package.tracking_status != TrackingStatus.DELIVERED:
                continue
            delivered = next(c.at for c in package.checkpoints if c.status == "DELIVERED")
            collected = next(
                (c.at for c in package.checkpoints if c.status not in ("PENDING", "INFO_RECEIVED")),
                None,
            )
            per_carrier[package.carrier or "unknown"].append(
                (delivered, collected, package.estimated_delivery_at)
            )
    assert [c["carrier"] for c in body["carriers"]] == sorted(per_carrier)
    for entry in body["carriers"]:
        packages = per_carrier[entry["carrier"]]
        with_estimate = [p for p in packages if p[2] is not None]
        on_time = [p for p in with_estimate if p[2] is not None and p[0] <= p[2]]
        hours = [
            round((p[0] - p[1]).total_seconds() / 3600, 2) for p in packages if p[1] is not None
        ]
        assert entry["delivered"] == len(packages)
        assert entry["with_estimate"] == len(with_estimate)
        assert entry["on_time"] == len(on_time)
        assert entry["transit_hours"]["p50"] == nearest_rank(hours, 50)
        assert entry["transit_hours"]["p99"] == nearest_rank(hours, 99)
    assert body["overall"]["delivered"] == sum(len(p) for p in per_carrier.values())


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ANALYST])
async def test_stats_hold_only_the_tokens_shops(api: Api, role: Role) -> None:
    response = await api.client.get(
        "/v1/stats/sales",
        params={"from": FIRST.isoformat(), "to": LAST.isoformat(), "tz": "America/New_York"},
        headers=api.auth(role, [api.shops[0]]),
    )
    currencies = [c["currency"] for c in response.json()["currencies"]]
    assert currencies == sorted({o.money.currency for o in api.orders if o.shop_id == api.shops[0]})
