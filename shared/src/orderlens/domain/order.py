"""The stored order read model (collection `orders`), built by `orderlens.normalise`.

order-ingest alone writes these documents; query-api and the exporter read them. Field names here
are the MongoDB field names: the query and export code depend on them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Address(_Doc):
    name: str | None = None
    phone: str | None = None
    lines: list[str] = Field(default_factory=list)
    full_address: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    district: str | None = None


class Buyer(_Doc):
    user_id: str | None = None
    email: str | None = None
    message: str | None = None


class Item(_Doc):
    """One SKU of an order: TikTok's per-unit line items grouped by `sku_id`."""

    sku_id: str
    seller_sku: str | None = None
    product_id: str | None = None
    product_name: str
    variation: str | None = None
    quantity: int
    unit_sale_price: int
    unit_original_price: int | None = None
    subtotal_before_discount: int
    seller_discount: int = 0
    platform_discount: int = 0
    subtotal_after_discount: int
    line_item_ids: list[str]
    package_ids: list[str] = Field(default_factory=list)


class Checkpoint(_Doc):
    at: datetime
    status: TrackingStatus
    message: str | None = None
    location: str | None = None


class PackageDoc(_Doc):
    package_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_status: TrackingStatus = TrackingStatus.PENDING
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    estimated_delivery_at: datetime | None = None
    last_checkpoint_at: datetime | None = None


class Money(_Doc):
    """All amounts in integer minor units of `currency`."""

    currency: str
    total: int
    subtotal: int | None = None
    shipping_fee: int | None = None
    seller_discount: int | None = None
    platform_discount: int | None = None
    tax: int | None = None
    original_total_product_price: int | None = None
    original_shipping_fee: int | None = None


class RiskFlag(_Doc):
    code: str
    reason: str


class HistoryEntry(_Doc):
    """One status-changed event as received, and whether it changed the order (`reason` if not).

    The package fields keep what the event said about its package, so that order-ingest can fold
    the whole history again when a late event arrives (checkpoints live in `packages`).
    """

    event_id: str
    at: datetime
    source: str
    status: OrderStatus | None = None
    return_status: ReturnStatus | None = None
    tracking_status: TrackingStatus | None = None
    applied: bool
    reason: str | None = None
    note: str | None = None  # the event's own `reason` (a cancel reason, a return reason)
    package_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    estimated_delivery_at: datetime | None = None


class SnapshotBase(_Doc):
    """The newest snapshot's own values of the fields that status events change.

    order-ingest folds the status history over these again whenever a late event or a newer
    snapshot arrives, so the stored order is a function of what was received, not of its order.
    """

    status: OrderStatus
    return_status: ReturnStatus = ReturnStatus.NONE
    updated_at: datetime
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    collected_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    cancellation_initiator: str | None = None
    packages: list[PackageDoc] = Field(default_factory=list)


class Order(_Doc):
    """An order as stored. `id` is stored as `_id` (see `to_document`)."""

    id: str
    shop_id: str
    status: OrderStatus
    return_status: ReturnStatus = ReturnStatus.NONE
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    collected_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    buyer: Buyer = Field(default_factory=Buyer)
    recipient: Address = Field(default_factory=Address)
    money: Money
    payment_method: str | None = None
    is_cod: bool = False
    items: list[Item]
    units: int
    packages: list[PackageDoc] = Field(default_factory=list)
    shipping_type: str | None = None
    fulfillment_type: str | None = None
    delivery_option: str | None = None
    seller_note: str | None = None
    cancel_reason: str | None = None
    cancellation_initiator: str | None = None
    delivery_issue: bool = False
    last_checkpoint_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    risk_flags: list[RiskFlag] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    # Flat copies of nested values, so that filters are plain (multikey) index lookups.
    skus: list[str] = Field(default_factory=list)
    product_names: list[str] = Field(default_factory=list)
    carriers: list[str] = Field(default_factory=list)
    tracking_numbers: list[str] = Field(default_factory=list)
    tracking_statuses: list[TrackingStatus] = Field(default_factory=list)
    risk: list[str] = Field(default_factory=list)
    # TikTok's `update_time` of the snapshot kept: a newer snapshot wins (docs/contract.md §3.3).
    source_update_time: int
    last_synced_at: datetime
    # Written by order-ingest: optimistic-concurrency counter, the normalised shipping address
    # (shared-address risk rule) and the sales bucket of `paid_at` (sales read model).
    version: int = 0
    address_key: str | None = None
    paid_bucket: datetime | None = None
    base: SnapshotBase | None = None

    def to_document(self) -> dict[str, object]:
        doc = self.model_dump(mode="python", exclude={"id"})
        return {"_id": self.id, **doc}

    @classmethod
    def from_document(
        cls, doc: dict[str, object], *, extra: Literal["forbid", "ignore"] = "forbid"
    ) -> Order:
        """`extra="ignore"` for readers (query-api): a field that a newer order-ingest wrote,
        at any depth, is skipped rather than refused. order-ingest, which writes the document
        back, keeps the default: it must not drop what it does not know (decision 0070)."""
        data = {k: v for k, v in doc.items() if k != "_id"}
        return cls.model_validate({"id": doc["_id"], **data}, extra=extra)


def utc(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)
