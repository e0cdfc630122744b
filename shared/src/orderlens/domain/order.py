"""The stored order read model (collection `orders`) and its normalisation from TikTok's shape.

order-ingest alone writes these documents; query-api and the exporter read them. Field names here
are the MongoDB field names: the query and export code depend on them.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orderlens.domain.money import to_minor
from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus
from orderlens.tiktok import LineItem, RecipientAddress, TikTokOrder


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


def _required_utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _minor(amount: str | None, currency: str) -> int | None:
    return None if amount is None else to_minor(amount, currency)


def _address(raw: RecipientAddress | None) -> Address:
    if raw is None:
        return Address()
    levels: dict[str, str] = {}
    names: dict[str, str] = {}
    for district in raw.district_info:
        if district.address_name:
            if district.address_level:
                levels[district.address_level.upper()] = district.address_name
            if district.address_level_name:
                names[district.address_level_name.lower()] = district.address_name
    name = raw.name or " ".join(p for p in (raw.first_name, raw.last_name) if p) or None
    lines = [
        line
        for line in (raw.address_line1, raw.address_line2, raw.address_line3, raw.address_line4)
        if line
    ]
    return Address(
        name=name,
        phone=raw.phone_number,
        lines=lines,
        full_address=raw.full_address,
        postal_code=raw.postal_code,
        country_code=raw.region_code.upper() if raw.region_code else None,
        country=names.get("country") or levels.get("L0"),
        state=names.get("state") or names.get("province") or levels.get("L1"),
        city=names.get("city") or levels.get("L3") or levels.get("L2"),
        district=names.get("district") or names.get("county"),
    )


def _items(line_items: list[LineItem], currency: str) -> list[Item]:
    groups: OrderedDict[str, list[LineItem]] = OrderedDict()
    for line in line_items:
        groups.setdefault(line.sku_id, []).append(line)
    items = []
    for sku_id, lines in groups.items():
        first = lines[0]
        quantity = len(lines)
        sale_prices = [to_minor(line.sale_price, currency) for line in lines]
        original = [
            to_minor(line.original_price, currency) if line.original_price else None
            for line in lines
        ]
        seller_discount = sum(_minor(line.seller_discount, currency) or 0 for line in lines)
        platform_discount = sum(_minor(line.platform_discount, currency) or 0 for line in lines)
        before = (
            sum(o for o in original if o is not None)
            if all(o is not None for o in original)
            else sum(sale_prices) + seller_discount + platform_discount
        )
        items.append(
            Item(
                sku_id=sku_id,
                seller_sku=first.seller_sku,
                product_id=first.product_id,
                product_name=first.product_name,
                variation=first.sku_name,
                quantity=quantity,
                unit_sale_price=sale_prices[0],
                unit_original_price=original[0],
                subtotal_before_discount=before,
                seller_discount=seller_discount,
                platform_discount=platform_discount,
                subtotal_after_discount=sum(sale_prices),
                line_item_ids=[line.id for line in lines],
                package_ids=sorted({line.package_id for line in lines if line.package_id}),
            )
        )
    return items


def _packages(order: TikTokOrder) -> list[PackageDoc]:
    """Packages known from the snapshot: one per package id, else one per tracking number."""
    packages: OrderedDict[str, PackageDoc] = OrderedDict()
    for line in order.line_items:
        key = line.package_id or line.tracking_number
        if key and key not in packages:
            packages[key] = PackageDoc(
                package_id=line.package_id,
                carrier=line.shipping_provider_name or order.shipping_provider,
                tracking_number=line.tracking_number or order.tracking_number,
            )
    for package in order.packages:
        if package.id not in packages:
            packages[package.id] = PackageDoc(
                package_id=package.id,
                carrier=order.shipping_provider,
                tracking_number=order.tracking_number,
            )
    if not packages and order.tracking_number:
        packages[order.tracking_number] = PackageDoc(
            carrier=order.shipping_provider, tracking_number=order.tracking_number
        )
    return list(packages.values())


def normalise(shop_id: str, order: TikTokOrder, synced_at: datetime) -> Order:
    """TikTok's order snapshot -> the stored read model (before status events and risk rules)."""
    currency = order.payment.currency.upper()
    payment = order.payment
    items = _items(order.line_items, currency)
    packages = _packages(order)
    return Order(
        id=order.id,
        shop_id=shop_id,
        status=order.status,
        created_at=_required_utc(order.create_time),
        updated_at=_required_utc(order.update_time),
        paid_at=utc(order.paid_time),
        shipped_at=utc(order.rts_time),
        collected_at=utc(order.collection_time),
        delivered_at=utc(order.delivery_time),
        cancelled_at=utc(order.cancel_time),
        buyer=Buyer(user_id=order.user_id, email=order.buyer_email, message=order.buyer_message),
        recipient=_address(order.recipient_address),
        money=Money(
            currency=currency,
            total=to_minor(payment.total_amount, currency),
            subtotal=_minor(payment.sub_total, currency),
            shipping_fee=_minor(payment.shipping_fee, currency),
            seller_discount=_minor(payment.seller_discount, currency),
            platform_discount=_minor(payment.platform_discount, currency),
            tax=_minor(payment.tax, currency),
            original_total_product_price=_minor(payment.original_total_product_price, currency),
            original_shipping_fee=_minor(payment.original_shipping_fee, currency),
        ),
        payment_method=order.payment_method_name,
        is_cod=bool(order.is_cod),
        items=items,
        units=sum(item.quantity for item in items),
        packages=packages,
        shipping_type=order.shipping_type,
        fulfillment_type=order.fulfillment_type,
        delivery_option=order.delivery_option_name,
        seller_note=order.seller_note,
        cancel_reason=order.cancel_reason,
        cancellation_initiator=order.cancellation_initiator,
        skus=sorted(
            {item.sku_id for item in items} | {item.seller_sku for item in items if item.seller_sku}
        ),
        product_names=sorted({item.product_name for item in items}),
        carriers=sorted({p.carrier for p in packages if p.carrier}),
        tracking_numbers=sorted({p.tracking_number for p in packages if p.tracking_number}),
        tracking_statuses=sorted({p.tracking_status for p in packages}),
        source_update_time=order.update_time,
        last_synced_at=synced_at,
    )
