"""Stored orders -> API shapes, with PII masked per role (orderlens.masking)."""

from __future__ import annotations

from typing import Any

from orderlens.domain.order import Address, Order
from orderlens.domain.status import OrderStatus, ReturnStatus, status_label, view_of
from orderlens.masking import mask_email, mask_name, mask_order
from orderlens.mongo import Document
from orderlens.roles import Role, sees_full_pii
from orderlens_query.models.common import Amount, amount
from orderlens_query.models.orders import (
    AddressOut,
    BuyerOut,
    HistoryOut,
    ItemOut,
    OrderDetail,
    OrderSummary,
    PackageOut,
    PaymentOut,
    RiskFlagOut,
    SummaryBuyer,
    SummaryRecipient,
    Timestamps,
)


def summary(doc: Document, role: Role) -> OrderSummary:
    """A list row from a document projected with `SUMMARY_PROJECTION`."""
    status = OrderStatus(doc["status"])
    money = doc.get("money") or {}
    buyer = doc.get("buyer") or {}
    recipient = doc.get("recipient") or {}
    full = sees_full_pii(role)
    name = recipient.get("name")
    email = buyer.get("email")
    return OrderSummary(
        id=doc["_id"],
        shop_id=doc["shop_id"],
        status=status,
        status_label=status_label(status, for_buyer=role is Role.BUYER),
        view=view_of(status),
        return_status=ReturnStatus(doc.get("return_status") or ReturnStatus.NONE),
        created_at=doc["created_at"],
        paid_at=doc.get("paid_at"),
        updated_at=doc["updated_at"],
        total=Amount.of(int(money.get("total", 0)), money.get("currency", "USD")),
        units=int(doc.get("units") or 0),
        product_names=list(doc.get("product_names") or []),
        skus=list(doc.get("skus") or []),
        buyer=SummaryBuyer(
            user_id=buyer.get("user_id"), email=email if full else mask_email(email)
        ),
        recipient=SummaryRecipient(
            name=name if full else mask_name(name),
            city=recipient.get("city"),
            state=recipient.get("state"),
            country_code=recipient.get("country_code"),
        ),
        payment_method=doc.get("payment_method"),
        is_cod=bool(doc.get("is_cod")),
        carriers=list(doc.get("carriers") or []),
        tracking_numbers=list(doc.get("tracking_numbers") or []),
        tracking_statuses=list(doc.get("tracking_statuses") or []),
        estimated_delivery_at=doc.get("estimated_delivery_at"),
        delivery_issue=bool(doc.get("delivery_issue")),
        risk=list(doc.get("risk") or []),
        shipping_type=doc.get("shipping_type"),
        fulfillment_type=doc.get("fulfillment_type"),
    )


def _address(address: Address) -> AddressOut:
    return AddressOut.model_validate(address.model_dump())


def detail(stored: Order, role: Role) -> OrderDetail:
    order = mask_order(stored, role)
    currency = order.money.currency
    money = order.money

    def show(minor: int | None) -> str | None:
        return amount(minor, currency)

    def shown(minor: int) -> str:
        return Amount.of(minor, currency).amount

    return OrderDetail(
        id=order.id,
        shop_id=order.shop_id,
        status=order.status,
        status_label=status_label(order.status, for_buyer=role is Role.BUYER),
        view=view_of(order.status),
        return_status=order.return_status,
        buyer=BuyerOut.model_validate(order.buyer.model_dump()),
        recipient_address=_address(order.recipient),
        billing_address=None,
        items=[
            ItemOut(
                sku_id=item.sku_id,
                seller_sku=item.seller_sku,
                product_id=item.product_id,
                product_name=item.product_name,
                variation=item.variation,
                quantity=item.quantity,
                unit_sale_price=shown(item.unit_sale_price),
                unit_original_price=show(item.unit_original_price),
                subtotal_before_discount=shown(item.subtotal_before_discount),
                seller_discount=shown(item.seller_discount),
                platform_discount=shown(item.platform_discount),
                subtotal_after_discount=shown(item.subtotal_after_discount),
                package_ids=item.package_ids,
            )
            for item in order.items
        ],
        units=order.units,
        payment=PaymentOut(
            currency=currency,
            method=order.payment_method,
            is_cod=order.is_cod,
            subtotal=show(money.subtotal),
            shipping_fee=show(money.shipping_fee),
            original_shipping_fee=show(money.original_shipping_fee),
            original_total_product_price=show(money.original_total_product_price),
            seller_discount=show(money.seller_discount),
            platform_discount=show(money.platform_discount),
            tax=show(money.tax),
            total=shown(money.total),
        ),
        timestamps=Timestamps(
            created_at=order.created_at,
            paid_at=order.paid_at,
            shipped_at=order.shipped_at,
            collected_at=order.collected_at,
            delivered_at=order.delivered_at,
            cancelled_at=order.cancelled_at,
            updated_at=order.updated_at,
        ),
        packages=[PackageOut.model_validate(p.model_dump()) for p in order.packages],
        estimated_delivery_at=order.estimated_delivery_at,
        shipping_type=order.shipping_type,
        fulfillment_type=order.fulfillment_type,
        delivery_option=order.delivery_option,
        delivery_issue=order.delivery_issue,
        seller_note=order.seller_note,
        cancel_reason=order.cancel_reason,
        cancellation_initiator=order.cancellation_initiator,
        risk_flags=[RiskFlagOut(code=f.code, reason=f.reason) for f in order.risk_flags],
        # The stored entry also keeps the event's package fields for re-folding; the view shows
        # the timeline's own fields (a shipped order's detail answered 500 before).
        history=[
            HistoryOut.model_validate(h.model_dump(include=set(HistoryOut.model_fields)))
            for h in order.history
        ],
        last_synced_at=order.last_synced_at,
    )


def stored_order(doc: dict[str, Any]) -> Order:
    # A reader, not the writer: fields a newer order-ingest wrote are skipped (decision 0070).
    return Order.from_document(doc, extra="ignore")
