"""What each cell of an export should hold, worked out from the orders themselves (an oracle
written apart from the exporter's row builder)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from orderlens.domain.money import exponent, format_minor
from orderlens.domain.order import Item, Order, PackageDoc
from orderlens.masking import mask_address, mask_buyer

Cells = dict[str, Any]


def _packages(order: Order, item: Item | None) -> list[PackageDoc]:
    if item is not None and item.package_ids:
        matched = [p for p in order.packages if p.package_id in item.package_ids]
        if matched:
            return matched
    return order.packages


def _join(values: list[str | None]) -> str | None:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return "; ".join(seen) or None


def _masked(order: Order) -> Order:
    return order.model_copy(
        update={"recipient": mask_address(order.recipient), "buyer": mask_buyer(order.buyer)}
    )


def expected_rows(order: Order, *, zone: ZoneInfo, granularity: str, masked: bool) -> list[Cells]:
    """Typed expected cells (datetimes aware in `zone`, money as Decimal) per row."""
    shown = _masked(order) if masked else order
    r, money, cur = shown.recipient, shown.money, shown.money.currency

    def amount(minor: int | None) -> Decimal | None:
        return None if minor is None else Decimal(format_minor(minor, cur))

    def when(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(zone)

    if r.lines:
        address = ", ".join(r.lines)
    elif r.full_address:
        address = r.full_address
    else:
        address = ", ".join(p for p in (r.city, r.state, r.postal_code, r.country) if p) or None

    def common(packages: list[PackageDoc]) -> Cells:
        estimates = [p.estimated_delivery_at for p in packages if p.estimated_delivery_at]
        return {
            "Order ID": shown.id,
            "Order Status": shown.status.value,
            "Return Status": shown.return_status.value,
            "Created Time": when(shown.created_at),
            "Paid Time": when(shown.paid_at),
            "Shipped Time": when(shown.shipped_at),
            "Delivered Time": when(shown.delivered_at),
            "Cancelled Time": when(shown.cancelled_at),
            "Shop ID": shown.shop_id,
            "Shipping Fee": amount(money.shipping_fee),
            "Taxes": amount(money.tax),
            "Order Amount": amount(money.total),
            "Currency": cur,
            "Payment Method": shown.payment_method,
            "Carrier": _join([p.carrier for p in packages]),
            "Tracking Number": _join([p.tracking_number for p in packages]),
            "Tracking Status": _join([p.tracking_status.value for p in packages]),
            "Estimated Delivery": when(
                max(estimates) if estimates else shown.estimated_delivery_at
            ),
            "Buyer User ID": shown.buyer.user_id,
            "Recipient": r.name,
            "Phone": r.phone,
            "Email": shown.buyer.email,
            "Country": r.country or r.country_code,
            "State": r.state,
            "City": r.city,
            "Postal Code": r.postal_code,
            "Address": address,
            "Buyer Message": shown.buyer.message,
            "Seller Note": shown.seller_note,
        }

    if granularity == "order":
        return [{**common(shown.packages), "Items": len(shown.items), "Units": shown.units}]
    rows = []
    for item in shown.items:
        unit = (
            amount(item.unit_original_price)
            if item.unit_original_price is not None
            else (
                Decimal(format_minor(item.subtotal_before_discount, cur)) / item.quantity
            ).quantize(Decimal(1).scaleb(-exponent(cur)))
        )
        rows.append(
            {
                **common(_packages(shown, item)),
                "SKU ID": item.sku_id,
                "Seller SKU": item.seller_sku,
                "Product Name": item.product_name,
                "Variation": item.variation,
                "Quantity": item.quantity,
                "Unit Original Price": unit,
                "SKU Subtotal Before Discount": amount(item.subtotal_before_discount),
                "SKU Seller Discount": amount(item.seller_discount),
                "SKU Platform Discount": amount(item.platform_discount),
                "SKU Subtotal After Discount": amount(item.subtotal_after_discount),
            }
        )
    return rows


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def as_csv_text(value: Any) -> str:
    """How the CSV file writes a typed cell (text neutralised against formula injection)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)
