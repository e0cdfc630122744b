"""From a stored order to export rows in the column order of docs/contract.md §6, as typed cells.

Rows are built from the full read model (`Order`) or from the export's slim one (`ExportOrder`,
what the pipeline validates); both give the same cells.

Cells keep their types (text, whole numbers, money as `Decimal` with the currency's places,
times as aware datetimes in the requested zone) so that each writer renders them its own way:
CSV as text, XLSX as typed cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from orderlens.domain.money import exponent, to_decimal
from orderlens.domain.order import Item, Order, PackageDoc
from orderlens.events import Granularity
from orderlens.masking import mask_address, mask_buyer, mask_order
from orderlens.roles import Role, sees_full_pii
from orderlens_exporter.domain.export_model import ExportItem, ExportOrder, ExportPackage

Cell = str | int | Decimal | datetime | None
Row = tuple[Cell, ...]
OrderLike = Order | ExportOrder
ItemLike = Item | ExportItem
PackageLike = PackageDoc | ExportPackage


@dataclass(frozen=True)
class Column:
    name: str
    width: int  # characters, for spreadsheet writers


def _columns(*spec: tuple[str, int]) -> tuple[Column, ...]:
    return tuple(Column(name, width) for name, width in spec)


_ORDER_HEAD = _columns(
    ("Order ID", 20),
    ("Order Status", 20),
    ("Return Status", 14),
    ("Created Time", 20),
    ("Paid Time", 20),
    ("Shipped Time", 20),
    ("Delivered Time", 20),
    ("Cancelled Time", 20),
    ("Shop ID", 20),
)
_SKU = _columns(
    ("SKU ID", 20),
    ("Seller SKU", 14),
    ("Product Name", 36),
    ("Variation", 18),
    ("Quantity", 9),
    ("Unit Original Price", 12),
    ("SKU Subtotal Before Discount", 12),
    ("SKU Seller Discount", 12),
    ("SKU Platform Discount", 12),
    ("SKU Subtotal After Discount", 12),
)
_ITEMS = _columns(("Items", 7), ("Units", 7))
_ORDER_TAIL = _columns(
    ("Shipping Fee", 12),
    ("Taxes", 12),
    ("Order Amount", 12),
    ("Currency", 9),
    ("Payment Method", 16),
    ("Carrier", 12),
    ("Tracking Number", 24),
    ("Tracking Status", 16),
    ("Estimated Delivery", 20),
    ("Buyer User ID", 20),
    ("Recipient", 20),
    ("Phone", 16),
    ("Email", 26),
    ("Country", 14),
    ("State", 14),
    ("City", 14),
    ("Postal Code", 11),
    ("Address", 40),
    ("Buyer Message", 30),
    ("Seller Note", 30),
)

LINE_COLUMNS: tuple[Column, ...] = _ORDER_HEAD + _SKU + _ORDER_TAIL
ORDER_COLUMNS: tuple[Column, ...] = _ORDER_HEAD + _ITEMS + _ORDER_TAIL


def columns_for(granularity: Granularity) -> tuple[Column, ...]:
    return LINE_COLUMNS if granularity == Granularity.LINE else ORDER_COLUMNS


def _money(minor: int | None, currency: str) -> Decimal | None:
    return None if minor is None else to_decimal(minor, currency)


def _time(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if moment is None else moment.astimezone(zone)


def _joined(values: list[str | None]) -> str | None:
    unique = list(dict.fromkeys(v for v in values if v))
    return "; ".join(unique) if unique else None


def _unit_original(item: ItemLike, currency: str) -> Decimal:
    if item.unit_original_price is not None:
        return to_decimal(item.unit_original_price, currency)
    places = Decimal(1).scaleb(-exponent(currency))
    return (to_decimal(item.subtotal_before_discount, currency) / item.quantity).quantize(places)


def _shipping(
    packages: Sequence[PackageLike], order: OrderLike, zone: ZoneInfo
) -> tuple[Cell, ...]:
    estimates = [p.estimated_delivery_at for p in packages if p.estimated_delivery_at]
    estimate = max(estimates) if estimates else order.estimated_delivery_at
    return (
        _joined([p.carrier for p in packages]),
        _joined([p.tracking_number for p in packages]),
        _joined([p.tracking_status.value for p in packages]),
        _time(estimate, zone),
    )


def _address(order: OrderLike) -> str | None:
    """Street lines; else the full address; else (masked) the coarse place."""
    recipient = order.recipient
    if recipient.lines:
        return ", ".join(recipient.lines)
    if recipient.full_address:
        return recipient.full_address
    coarse = [recipient.city, recipient.state, recipient.postal_code, recipient.country]
    return ", ".join(p for p in coarse if p) or None


def _head(order: OrderLike, zone: ZoneInfo) -> tuple[Cell, ...]:
    return (
        order.id,
        order.status.value,
        order.return_status.value,
        _time(order.created_at, zone),
        _time(order.paid_at, zone),
        _time(order.shipped_at, zone),
        _time(order.delivered_at, zone),
        _time(order.cancelled_at, zone),
        order.shop_id,
    )


def _money_tail(order: OrderLike) -> tuple[Cell, ...]:
    money = order.money
    return (
        _money(money.shipping_fee, money.currency),
        _money(money.tax, money.currency),
        to_decimal(money.total, money.currency),
        money.currency,
        order.payment_method,
    )


def _people_tail(order: OrderLike) -> tuple[Cell, ...]:
    recipient = order.recipient
    return (
        order.buyer.user_id,
        recipient.name,
        recipient.phone,
        order.buyer.email,
        recipient.country or recipient.country_code,
        recipient.state,
        recipient.city,
        recipient.postal_code,
        _address(order),
        order.buyer.message,
        order.seller_note,
    )


def _item_packages(order: OrderLike, item: ItemLike) -> Sequence[PackageLike]:
    if item.package_ids:
        matched = [p for p in order.packages if p.package_id in item.package_ids]
        if matched:
            return matched
    return order.packages


def _sku_cells(item: ItemLike, currency: str) -> tuple[Cell, ...]:
    return (
        item.sku_id,
        item.seller_sku,
        item.product_name,
        item.variation,
        item.quantity,
        _unit_original(item, currency),
        to_decimal(item.subtotal_before_discount, currency),
        to_decimal(item.seller_discount, currency),
        to_decimal(item.platform_discount, currency),
        to_decimal(item.subtotal_after_discount, currency),
    )


def _visible(order: OrderLike, role: Role) -> OrderLike:
    if isinstance(order, Order):
        return mask_order(order, role)
    if sees_full_pii(role):
        return order
    # mask_order's rules, on the slim model.
    return order.model_copy(
        update={"recipient": mask_address(order.recipient), "buyer": mask_buyer(order.buyer)}
    )


def order_rows(
    order: OrderLike, *, role: Role, zone: ZoneInfo, granularity: Granularity
) -> list[Row]:
    """The export rows of one order: one per SKU (line granularity) or one (order granularity).

    PII is masked for roles that do not see it in full, exactly as in the API.
    """
    visible = _visible(order, role)
    head = _head(visible, zone)
    money = _money_tail(visible)
    people = _people_tail(visible)
    if granularity == Granularity.ORDER:
        items: tuple[Cell, ...] = (len(visible.items), visible.units)
        return [head + items + money + _shipping(visible.packages, visible, zone) + people]
    currency = visible.money.currency
    return [
        head
        + _sku_cells(item, currency)
        + money
        + _shipping(_item_packages(visible, item), visible, zone)
        + people
        for item in visible.items
    ]


def iter_rows(
    orders: Iterable[OrderLike], *, role: Role, zone: ZoneInfo, granularity: Granularity
) -> Iterator[Row]:
    for order in orders:
        yield from order_rows(order, role=role, zone=zone, granularity=granularity)
