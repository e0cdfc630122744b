"""Sales, top-products, regions and delivery statistics."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from orderlens_query.models.common import ApiModel
from orderlens_query.windows import Compare, Interval


class SalesFigures(ApiModel):
    orders: int = Field(description="Paid orders.")
    units: int
    gross: str = Field(description="Sum of the paid orders' totals.")
    cancelled: int = Field(description="Paid orders since cancelled.")
    cancelled_gross: str
    average_order_value: str | None = Field(description="gross / orders; null without orders.")


class SalesPeriod(SalesFigures):
    label: str = Field(description="The period's local calendar start: 2024-03-04, or 2024-03.")
    start: datetime = Field(description="Start, in the requested zone (clipped to the window).")
    end: datetime = Field(description="End (exclusive), in the requested zone.")


class SalesDeltas(ApiModel):
    """Change against the comparison window, in percent; null when it had zero."""

    orders: float | None
    units: float | None
    gross: float | None
    cancelled: float | None
    average_order_value: float | None


class CurrencySales(ApiModel):
    currency: str
    periods: list[SalesPeriod]
    totals: SalesFigures
    comparison: SalesFigures | None = None
    delta_pct: SalesDeltas | None = None


class SalesStats(ApiModel):
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    tz: str
    interval: Interval
    compare: Compare | None
    comparison_from: datetime | None
    comparison_to: datetime | None
    currencies: list[CurrencySales] = Field(
        description="One entry per currency: amounts in different currencies never add up."
    )


class ProductRank(ApiModel):
    rank: int
    sku_id: str
    seller_sku: str | None
    product_name: str
    units: int
    orders: int
    revenue: str = Field(description="Sum of the SKU's subtotals after discounts.")


class CurrencyProducts(ApiModel):
    currency: str
    products: list[ProductRank]


class TopProducts(ApiModel):
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    by: str
    truncated: bool = Field(description="True when more orders matched than were read.")
    currencies: list[CurrencyProducts]


class RegionGross(ApiModel):
    currency: str
    gross: str


class RegionStat(ApiModel):
    country_code: str | None
    state: str | None = None
    orders: int
    share: float = Field(description="Share of the window's orders, 0..1.")
    baseline_orders: int
    baseline_share: float | None = Field(description="Share in the trailing baseline.")
    anomaly: bool = Field(description="The share jumped against the baseline (see `rule`).")
    gross: list[RegionGross]


class RegionStats(ApiModel):
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    level: str
    baseline_from: datetime
    baseline_to: datetime
    rule: str
    truncated: bool = Field(description="True when more orders matched than were read.")
    total_orders: int
    regions: list[RegionStat]


class TransitHours(ApiModel):
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None


class CarrierDelivery(ApiModel):
    carrier: str
    delivered: int = Field(description="Packages delivered in the window.")
    with_estimate: int = Field(description="Of which had an estimated delivery time.")
    on_time: int
    on_time_rate: float | None = Field(description="on_time / with_estimate.")
    transit_hours: TransitHours
    transit_measured: int = Field(description="Packages with a known collection time.")


class DeliveryStats(ApiModel):
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    truncated: bool = Field(description="True when more orders matched than were read.")
    overall: CarrierDelivery
    carriers: list[CarrierDelivery]
