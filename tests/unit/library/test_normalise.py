"""TikTok's order snapshot -> the stored read model."""

from __future__ import annotations

from datetime import UTC, datetime

from orderlens.domain.order import Order
from orderlens.normalise import normalise
from orderlens.tiktok import TikTokOrder

SYNCED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def snapshot() -> TikTokOrder:
    return TikTokOrder.model_validate(
        {
            "id": "576461413038785752",
            "status": "IN_TRANSIT",
            "create_time": 1763626560,
            "update_time": 1763700000,
            "paid_time": 1763626600,
            "payment": {
                "currency": "usd",
                "total_amount": "41.47",
                "sub_total": "35.48",
                "shipping_fee": "3.99",
                "tax": "2.00",
            },
            "recipient_address": {
                "name": "Olivia Weber",
                "phone_number": "(+1)678722626",
                "address_line1": "928 Main St",
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
                  "package_id": "p1", "tracking_number": "9400111",
                 "shipping_provider_name": "USPS"},
                {"id": "a2", "sku_id": "100", "product_name": "Lip Oil", "sale_price": "9.99",
                 "original_price": "11.99", "seller_discount": "2.00", "seller_sku": "LIP-1",
                  "package_id": "p1", "tracking_number": "9400111",
                 "shipping_provider_name": "USPS"},
                {"id": "b1", "sku_id": "200", "product_name": "Hoodie", "sale_price": "15.50",
                  "package_id": "p1", "tracking_number": "9400111",
                 "shipping_provider_name": "USPS"},
            ],
        }
    )  # fmt: skip


def test_line_items_are_grouped_by_sku_with_quantity() -> None:
    order = normalise("shop-1", snapshot(), SYNCED)
    lip, hoodie = order.items
    assert (lip.sku_id, lip.quantity, lip.line_item_ids) == ("100", 2, ["a1", "a2"])
    assert lip.subtotal_after_discount == 1998
    assert lip.subtotal_before_discount == 2398
    assert lip.seller_discount == 400
    assert hoodie.quantity == 1
    assert order.units == 3


def test_money_is_integer_minor_units_with_currency() -> None:
    order = normalise("shop-1", snapshot(), SYNCED)
    assert order.money.currency == "USD"
    assert (order.money.total, order.money.shipping_fee, order.money.tax) == (4147, 399, 200)


def test_times_are_utc_and_address_comes_from_district_info() -> None:
    order = normalise("shop-1", snapshot(), SYNCED)
    assert order.created_at == datetime(2025, 11, 20, 8, 16, tzinfo=UTC)
    assert order.paid_at is not None
    assert order.paid_at.tzinfo is not None
    assert (order.recipient.country_code, order.recipient.state, order.recipient.city) == (
        "US",
        "Florida",
        "Miami",
    )


def test_packages_and_flat_filter_fields() -> None:
    order = normalise("shop-1", snapshot(), SYNCED)
    assert [(p.package_id, p.carrier, p.tracking_number) for p in order.packages] == [
        ("p1", "USPS", "9400111")
    ]
    assert order.skus == ["100", "200", "LIP-1"]
    assert order.carriers == ["USPS"]
    assert order.tracking_numbers == ["9400111"]


def test_document_round_trip_uses_the_order_id_as_key() -> None:
    order = normalise("shop-1", snapshot(), SYNCED)
    document = order.to_document()
    assert document["_id"] == "576461413038785752"
    assert "id" not in document
    assert Order.from_document(document) == order
