"""Orders for the exporter's unit tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from orderlens.domain.order import Order
from orderlens.normalise import normalise
from orderlens.tiktok import TikTokOrder

SYNCED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

MakeOrder = Callable[..., Order]


def snapshot(**changes: Any) -> dict[str, Any]:
    """A TikTok order with two SKUs (one bought twice), in one package."""
    order: dict[str, Any] = {
        "id": "576461413038785752",
        "status": "IN_TRANSIT",
        "create_time": 1763626560,  # 2025-11-20T08:16:00Z
        "update_time": 1763700000,
        "paid_time": 1763626600,
        "rts_time": 1763650000,
        "user_id": "7000000000000000001",
        "buyer_email": "olivia.weber@example.com",
        "buyer_message": "Please ring twice",
        "seller_note": "VIP",
        "payment_method_name": "Visa",
        "payment": {
            "currency": "USD",
            "total_amount": "41.47",
            "sub_total": "35.48",
            "shipping_fee": "3.99",
            "tax": "2.00",
        },
        "recipient_address": {
            "name": "Olivia Weber",
            "phone_number": "(+1)678722626",
            "address_line1": "928 Main St",
            "address_line2": "Apt 4",
            "postal_code": "33130",
            "region_code": "us",
            "district_info": [
                {"address_level_name": "Country", "address_name": "United States"},
                {"address_level_name": "State", "address_name": "Florida"},
                {"address_level_name": "City", "address_name": "Miami"},
            ],
        },
        "line_items": [
            {"id": "a1", "sku_id": "100", "product_name": "Lip Oil", "sale_price": "9.99",
             "original_price": "11.99", "seller_discount": "2.00", "seller_sku": "LIP-1",
             "sku_name": "Rose", "package_id": "p1", "tracking_number": "9400111",
             "shipping_provider_name": "USPS"},
            {"id": "a2", "sku_id": "100", "product_name": "Lip Oil", "sale_price": "9.99",
             "original_price": "11.99", "seller_discount": "2.00", "seller_sku": "LIP-1",
             "sku_name": "Rose", "package_id": "p1", "tracking_number": "9400111",
             "shipping_provider_name": "USPS"},
            {"id": "b1", "sku_id": "200", "product_name": "Hoodie", "sale_price": "15.50",
             "package_id": "p1", "tracking_number": "9400111", "shipping_provider_name": "USPS"},
        ],
    }  # fmt: skip
    order.update(changes)
    return order


@pytest.fixture
def make_order() -> MakeOrder:
    def make(shop_id: str = "shop-1", **changes: Any) -> Order:
        return normalise(shop_id, TikTokOrder.model_validate(snapshot(**changes)), SYNCED)

    return make
