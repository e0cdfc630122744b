"""The TikTok Shop order object, as Get Order Detail (202309 and later) returns it.

Only the fields orderlens keeps are declared; unknown fields are ignored, never fatal
(docs/contract.md §3.3).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from orderlens.domain.status import OrderStatus, parse_order_status


def _decimal_string(value: str) -> str:
    try:
        Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {value!r}") from exc
    return value


def _status(value: object) -> OrderStatus:
    if not isinstance(value, str):
        raise ValueError("status must be a string")
    return parse_order_status(value)


DecimalStr = Annotated[str, AfterValidator(_decimal_string)]
UnixSeconds = Annotated[int, Field(ge=0)]
# TikTok ids exceed 2**53: keep them as strings, and coerce numbers that slipped through.
TikTokId = Annotated[str, Field(min_length=1, coerce_numbers_to_str=True)]
# One definition of an order id for every door it comes in by (events, the API's paths and
# filters): TikTok's are digits; letters, `_` and `-` cover the simulators and other sources. A
# narrow alphabet keeps ids safe in URLs and comparable by every server (decision 0226).
ORDER_ID_PATTERN = r"^[A-Za-z0-9_\-]+$"
ORDER_ID_MAX_LENGTH = 64
OrderId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=ORDER_ID_MAX_LENGTH,
        pattern=ORDER_ID_PATTERN,
        coerce_numbers_to_str=True,
    ),
]


class _TikTokModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class DistrictInfo(_TikTokModel):
    address_level_name: str | None = None
    address_name: str | None = None
    address_level: str | None = None


class RecipientAddress(_TikTokModel):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone_number: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    address_line4: str | None = None
    address_detail: str | None = None
    full_address: str | None = None
    postal_code: str | None = None
    region_code: str | None = None
    district_info: list[DistrictInfo] = Field(default_factory=list)


class Payment(_TikTokModel):
    currency: str = Field(min_length=3, max_length=3)
    total_amount: DecimalStr
    sub_total: DecimalStr | None = None
    shipping_fee: DecimalStr | None = None
    seller_discount: DecimalStr | None = None
    platform_discount: DecimalStr | None = None
    tax: DecimalStr | None = None
    original_total_product_price: DecimalStr | None = None
    original_shipping_fee: DecimalStr | None = None


class LineItem(_TikTokModel):
    id: TikTokId
    sku_id: TikTokId
    product_name: str
    sale_price: DecimalStr
    seller_sku: str | None = None
    product_id: str | None = None
    sku_name: str | None = None
    original_price: DecimalStr | None = None
    seller_discount: DecimalStr | None = None
    platform_discount: DecimalStr | None = None
    package_id: str | None = None
    tracking_number: str | None = None
    shipping_provider_name: str | None = None


class Package(_TikTokModel):
    id: TikTokId


class TikTokOrder(_TikTokModel):
    id: OrderId
    status: Annotated[OrderStatus, BeforeValidator(_status)]
    create_time: UnixSeconds
    update_time: UnixSeconds
    payment: Payment
    line_items: list[LineItem] = Field(min_length=1)

    paid_time: UnixSeconds | None = None
    rts_time: UnixSeconds | None = None
    collection_time: UnixSeconds | None = None
    delivery_time: UnixSeconds | None = None
    cancel_time: UnixSeconds | None = None
    user_id: str | None = None
    buyer_email: str | None = None
    buyer_message: str | None = None
    recipient_address: RecipientAddress | None = None
    packages: list[Package] = Field(default_factory=list)
    tracking_number: str | None = None
    shipping_provider: str | None = None
    shipping_type: str | None = None
    fulfillment_type: str | None = None
    delivery_option_name: str | None = None
    payment_method_name: str | None = None
    is_cod: bool | None = None
    seller_note: str | None = None
    cancel_reason: str | None = None
    cancellation_initiator: str | None = None
