"""The order list, counts and detailed view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from orderlens.domain.order import (
    Address,
    Buyer,
    HistoryEntry,
    PackageDoc,
    RiskFlag,
)
from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus, View
from orderlens_query.models.common import Amount, ApiModel

STATUS_LABEL = (
    "The status in the reader's words (docs/contract.md §4.2): the seller's "
    "(`SELLER_STATUS_LABELS`, e.g. Delivered, Completed) for seller roles, the buyer's groups "
    "(`BUYER_LABELS`, e.g. Received) for a buyer token."
)


class SummaryBuyer(ApiModel):
    user_id: str | None = None
    email: str | None = Field(default=None, description="Masked for roles without full PII.")


class SummaryRecipient(ApiModel):
    name: str | None = Field(default=None, description="Initials for roles without full PII.")
    city: str | None = None
    state: str | None = None
    country_code: str | None = None


class OrderSummary(ApiModel):
    """One row of the order list."""

    id: str
    shop_id: str
    status: OrderStatus
    status_label: str = Field(description=STATUS_LABEL)
    view: View = Field(description="The status tab the order appears under.")
    return_status: ReturnStatus
    created_at: datetime
    paid_at: datetime | None
    updated_at: datetime
    total: Amount
    units: int
    product_names: list[str]
    skus: list[str]
    buyer: SummaryBuyer
    recipient: SummaryRecipient
    payment_method: str | None
    is_cod: bool
    carriers: list[str]
    tracking_numbers: list[str]
    tracking_statuses: list[TrackingStatus]
    estimated_delivery_at: datetime | None
    delivery_issue: bool
    risk: list[str]
    shipping_type: str | None
    fulfillment_type: str | None


class OrderPage(ApiModel):
    items: list[OrderSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
    total: int | None = Field(
        default=None, description="The exact number of matching orders, with include_total=true."
    )

    @model_serializer(mode="wrap")
    def _omit_total(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("total") is None:
            data.pop("total", None)
        return data


class OrderCounts(ApiModel):
    by_status: dict[OrderStatus, int] = Field(description="Every status, zero included.")
    by_view: dict[View, int] = Field(description="Every view; `returns` overlaps the others.")
    total: int


# The detail view shows these stored shapes whole: they are the read model's own classes
# (decision 0070), so a field order-ingest adds to one is shown, never refused (issue 17 #1).
class AddressOut(Address, ApiModel):
    pass


class BuyerOut(Buyer, ApiModel):
    pass


class ItemOut(ApiModel):
    """One SKU of the order, its per-unit line items grouped."""

    sku_id: str
    seller_sku: str | None
    product_id: str | None
    product_name: str
    variation: str | None
    quantity: int
    unit_sale_price: str
    unit_original_price: str | None
    subtotal_before_discount: str
    seller_discount: str
    platform_discount: str
    subtotal_after_discount: str
    package_ids: list[str]


class PaymentOut(ApiModel):
    currency: str
    method: str | None
    is_cod: bool
    subtotal: str | None
    shipping_fee: str | None
    original_shipping_fee: str | None
    original_total_product_price: str | None
    seller_discount: str | None
    platform_discount: str | None
    tax: str | None
    total: str


class PackageOut(PackageDoc, ApiModel):
    """One package with its carrier checkpoints (the read model's `Checkpoint`)."""


class RiskFlagOut(RiskFlag, ApiModel):
    pass


class HistoryOut(HistoryEntry, ApiModel):
    """One entry of the order's timeline, as stored (the package fields included)."""


class Timestamps(ApiModel):
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    collected_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    updated_at: datetime


class OrderDetail(ApiModel):
    """The detailed view of one order (docs/contract.md §5.3)."""

    id: str
    shop_id: str
    status: OrderStatus
    status_label: str = Field(description=STATUS_LABEL)
    view: View
    return_status: ReturnStatus
    buyer: BuyerOut
    recipient_address: AddressOut
    billing_address: AddressOut | None = Field(
        description="TikTok Shop does not share billing addresses with sellers: always null."
    )
    items: list[ItemOut]
    units: int
    payment: PaymentOut
    timestamps: Timestamps
    packages: list[PackageOut]
    estimated_delivery_at: datetime | None
    shipping_type: str | None
    fulfillment_type: str | None
    delivery_option: str | None
    delivery_issue: bool
    seller_note: str | None
    cancel_reason: str | None
    cancellation_initiator: str | None
    risk_flags: list[RiskFlagOut]
    history: list[HistoryOut]
    last_synced_at: datetime
