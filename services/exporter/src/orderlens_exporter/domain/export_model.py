"""The part of a stored order that an export writes: projections of the read model.

An export validates what it writes, no more: `ExportOrder` is generated from
`orderlens.domain.order.Order` (decision 0070), so every field is accepted, coerced or refused
exactly as there, but fields no column shows (history, checkpoints, filter helpers, risk flags, ...)
are neither read from MongoDB nor validated, and fields a newer order-ingest adds are ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderlens.domain.order import Item, Order, PackageDoc
from orderlens.domain.projection import project
from orderlens.mongo import Document

_ITEM_FIELDS = (
    "sku_id",
    "seller_sku",
    "product_name",
    "variation",
    "quantity",
    "unit_original_price",
    "subtotal_before_discount",
    "seller_discount",
    "platform_discount",
    "subtotal_after_discount",
    "package_ids",
)
_PACKAGE_FIELDS = (
    "package_id",
    "carrier",
    "tracking_number",
    "tracking_status",
    "estimated_delivery_at",
)
_ORDER_FIELDS = (
    "id",
    "shop_id",
    "status",
    "return_status",
    "created_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "buyer",
    "recipient",
    "money",
    "payment_method",
    "items",
    "units",
    "packages",
    "seller_note",
    "estimated_delivery_at",
)

if TYPE_CHECKING:
    # The type checker sees the read model itself; at run time the projections are stricter
    # subsets of it, so code that type-checks against these reads only fields they have.
    ExportItem = Item
    ExportPackage = PackageDoc
    ExportOrder = Order
else:
    ExportItem = project(Item, "ExportItem", _ITEM_FIELDS)
    ExportPackage = project(PackageDoc, "ExportPackage", _PACKAGE_FIELDS)
    ExportOrder = project(
        Order,
        "ExportOrder",
        _ORDER_FIELDS,
        retype={"items": list[ExportItem], "packages": list[ExportPackage]},
        aliases={"id": "_id"},
    )


def export_order(document: Document) -> ExportOrder:
    """Raises `pydantic.ValidationError` for a document that cannot be exported.

    Nested models (`Buyer`, `Address`, `Money`) are the read model's own; `extra="ignore"` here
    lets a field that a newer writer added to them pass unread as well.
    """
    order: ExportOrder = ExportOrder.model_validate(document, extra="ignore")
    return order


# `_id` is always returned by MongoDB; these are the other top-level fields the rows read.
EXPORT_PROJECTION: dict[str, int] = {name: 1 for name in _ORDER_FIELDS if name != "id"}
