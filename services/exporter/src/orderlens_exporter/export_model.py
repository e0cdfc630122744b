"""The part of a stored order that an export writes: a slim read model and its projection.

An export validates what it writes, no more: the field types below are those of
`orderlens.domain.order.Order` (so a value is accepted, coerced or refused exactly as there),
but fields no column shows (history, checkpoints, filter helpers, risk flags, ...) are neither
read from MongoDB nor validated. `Address`, `Buyer` and `Money` are the read model's own classes:
every one of their fields is written, and the shared masking rules apply to them unchanged.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orderlens.domain.order import Address, Buyer, Money
from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus
from orderlens.mongo import Document


class _Slim(BaseModel):
    # Stored documents carry more than is exported; unexported fields are skipped unread.
    model_config = ConfigDict(extra="ignore")


class ExportItem(_Slim):
    sku_id: str
    seller_sku: str | None = None
    product_name: str
    variation: str | None = None
    quantity: int
    unit_original_price: int | None = None
    subtotal_before_discount: int
    seller_discount: int = 0
    platform_discount: int = 0
    subtotal_after_discount: int
    package_ids: list[str] = Field(default_factory=list)


class ExportPackage(_Slim):
    package_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_status: TrackingStatus = TrackingStatus.PENDING
    estimated_delivery_at: datetime | None = None


class ExportOrder(_Slim):
    """The exported fields of an `Order`, read straight from its stored document."""

    id: str = Field(validation_alias="_id")
    shop_id: str
    status: OrderStatus
    return_status: ReturnStatus = ReturnStatus.NONE
    created_at: datetime
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    buyer: Buyer = Field(default_factory=Buyer)
    recipient: Address = Field(default_factory=Address)
    money: Money
    payment_method: str | None = None
    items: list[ExportItem]
    units: int
    packages: list[ExportPackage] = Field(default_factory=list)
    seller_note: str | None = None
    estimated_delivery_at: datetime | None = None

    @classmethod
    def from_document(cls, document: Document) -> ExportOrder:
        """Raises `pydantic.ValidationError` for a document that cannot be exported."""
        return cls.model_validate(document)


# `_id` is always returned by MongoDB; these are the other top-level fields the rows read.
EXPORT_PROJECTION: dict[str, int] = {name: 1 for name in ExportOrder.model_fields if name != "id"}
