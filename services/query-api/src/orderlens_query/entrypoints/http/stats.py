"""GET /v1/stats/sales, /top-products, /regions, /delivery (roles with stats permission)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from orderlens_query.adapters.order_reader import OrderReader
from orderlens_query.adapters.sales_buckets import SalesBuckets
from orderlens_query.auth import AppRuntime, ReadStats
from orderlens_query.models.stats import DeliveryStats, RegionStats, SalesStats, TopProducts
from orderlens_query.problems import problem_responses
from orderlens_query.query_params import only_params
from orderlens_query.runtime import Runtime
from orderlens_query.services.order_stats import delivery_stats, region_stats, top_products
from orderlens_query.services.sales_stats import sales_stats
from orderlens_query.windows import Compare, Interval, Window, resolve_window

router = APIRouter(prefix="/v1/stats", tags=["stats"])
RESPONSES = problem_responses(400, 401, 403, 503)
_MOMENT = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+\-]\d{2}:\d{2})?)?$"


class Period(BaseModel):
    """`from`, `to` and `tz`, which every stats route reads the same way (decision 0212).

    FastAPI hands a parameter model the whole query string: the route's other parameters are
    ignored here (`only_params` refuses the unknown ones), and the model's fields stand in the
    route's OpenAPI parameters where the model does."""

    model_config = ConfigDict(extra="ignore")

    from_: str | None = Field(
        default=None,
        alias="from",
        pattern=_MOMENT,
        description="A date (starts its day in tz) or a datetime on a 15-minute boundary. "
        "Default: 29 days before `to`.",
    )
    to: str | None = Field(
        default=None,
        pattern=_MOMENT,
        description="A date (includes that whole day) or an exclusive datetime on a 15-minute "
        "boundary. Default: today in tz.",
    )
    tz: str = Field(default="UTC", description="IANA time zone.", max_length=64)

    def window(self, runtime: Runtime) -> Window:
        return resolve_window(
            self.from_,
            self.to,
            self.tz,
            now=datetime.now(UTC),
            max_days=runtime.settings.stats_max_days,
        )


PeriodQuery = Annotated[Period, Query()]
ShopIds = Annotated[
    list[str] | None, Query(alias="shop_id", description="Only these of the token's shops.")
]


def _only(*names: str) -> list[Any]:
    """The route's parameters: the period's, the shops' and `names` (any other is refused)."""
    return [Depends(only_params("from", "to", "tz", *names, "shop_id"))]


def _shops(principal_shops: tuple[str, ...], wanted: list[str] | None) -> list[str]:
    return sorted(set(principal_shops) & set(wanted)) if wanted else list(principal_shops)


def _reader(runtime: Runtime) -> OrderReader:
    return OrderReader(runtime.db, max_time_ms=runtime.settings.query_max_time_ms)


@router.get(
    "/sales",
    response_model=SalesStats,
    summary="Paid orders bucketed by paid time in a time zone, with a comparison window",
    responses=RESPONSES,
    dependencies=_only("interval", "compare", "currency"),
)
async def get_sales(
    principal: ReadStats,
    runtime: AppRuntime,
    period: PeriodQuery,
    interval: Interval = Interval.DAY,
    compare: Compare | None = None,
    shop_id: ShopIds = None,
    currency: Annotated[
        list[str] | None, Query(description="Only these currencies.", max_length=20)
    ] = None,
) -> SalesStats:
    buckets = SalesBuckets(runtime.db, max_time_ms=runtime.settings.query_max_time_ms)
    return await sales_stats(
        buckets,
        _shops(principal.shops, shop_id),
        [c.upper() for c in currency or []],
        period.window(runtime),
        interval,
        compare,
        period.tz,
    )


@router.get(
    "/top-products",
    response_model=TopProducts,
    summary="Best-selling SKUs of paid, not cancelled orders, per currency",
    responses=RESPONSES,
    dependencies=_only("by", "limit"),
)
async def get_top_products(
    principal: ReadStats,
    runtime: AppRuntime,
    period: PeriodQuery,
    by: Literal["units", "revenue"] = "units",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    shop_id: ShopIds = None,
) -> TopProducts:
    return await top_products(
        _reader(runtime),
        _shops(principal.shops, shop_id),
        period.window(runtime),
        by,
        limit,
        runtime.settings.stats_max_orders,
    )


@router.get(
    "/regions",
    response_model=RegionStats,
    summary="Orders per country or state, with an anomaly flag against a trailing baseline",
    responses=RESPONSES,
    dependencies=_only("level"),
)
async def get_regions(
    principal: ReadStats,
    runtime: AppRuntime,
    period: PeriodQuery,
    level: Literal["country", "state"] = "country",
    shop_id: ShopIds = None,
) -> RegionStats:
    return await region_stats(
        _reader(runtime),
        _shops(principal.shops, shop_id),
        period.window(runtime),
        level,
        runtime.settings.stats_max_orders,
    )


@router.get(
    "/delivery",
    response_model=DeliveryStats,
    summary="On-time rate and transit-time percentiles per carrier, for orders delivered",
    responses=RESPONSES,
    dependencies=_only(),
)
async def get_delivery(
    principal: ReadStats,
    runtime: AppRuntime,
    period: PeriodQuery,
    shop_id: ShopIds = None,
) -> DeliveryStats:
    return await delivery_stats(
        _reader(runtime),
        _shops(principal.shops, shop_id),
        period.window(runtime),
        runtime.settings.stats_max_orders,
    )
