"""Orders -> export rows: docs/contract.md §6 columns, granularity, time zone, money, masking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from orderlens.domain.order import Order
from orderlens.events import Granularity
from orderlens.roles import Role
from orderlens_exporter.domain.rows import LINE_COLUMNS, ORDER_COLUMNS, order_rows

MakeOrder = Callable[..., Order]

SPEC_LINE_COLUMNS = [
    "Order ID",
    "Order Status",
    "Return Status",
    "Created Time",
    "Paid Time",
    "Shipped Time",
    "Delivered Time",
    "Cancelled Time",
    "Shop ID",
    "SKU ID",
    "Seller SKU",
    "Product Name",
    "Variation",
    "Quantity",
    "Unit Original Price",
    "SKU Subtotal Before Discount",
    "SKU Seller Discount",
    "SKU Platform Discount",
    "SKU Subtotal After Discount",
    "Shipping Fee",
    "Taxes",
    "Order Amount",
    "Currency",
    "Payment Method",
    "Carrier",
    "Tracking Number",
    "Tracking Status",
    "Estimated Delivery",
    "Buyer User ID",
    "Recipient",
    "Phone",
    "Email",
    "Country",
    "State",
    "City",
    "Postal Code",
    "Address",
    "Buyer Message",
    "Seller Note",
]
SKU_COLUMNS = SPEC_LINE_COLUMNS[9:19]
UTC_ZONE = ZoneInfo("UTC")


def names(columns: tuple[object, ...]) -> list[str]:
    return [getattr(c, "name") for c in columns]  # noqa: B009


def as_dict(columns: tuple[object, ...], row: tuple[object, ...]) -> dict[str, object]:
    assert len(row) == len(columns)
    return dict(zip(names(columns), row, strict=True))


def test_line_columns_are_the_spec_columns_in_order() -> None:
    assert names(LINE_COLUMNS) == SPEC_LINE_COLUMNS


def test_order_columns_drop_the_sku_columns_and_add_items_and_units() -> None:
    expected = [*SPEC_LINE_COLUMNS[:9], "Items", "Units", *SPEC_LINE_COLUMNS[19:]]
    assert names(ORDER_COLUMNS) == expected
    assert not set(SKU_COLUMNS) & set(names(ORDER_COLUMNS))


def test_line_granularity_has_one_row_per_sku_with_order_values_repeated(
    make_order: MakeOrder,
) -> None:
    rows = order_rows(make_order(), role=Role.ADMIN, zone=UTC_ZONE, granularity=Granularity.LINE)
    lip, hoodie = (as_dict(LINE_COLUMNS, r) for r in rows)
    assert (lip["SKU ID"], lip["Quantity"], hoodie["SKU ID"], hoodie["Quantity"]) == (
        "100",
        2,
        "200",
        1,
    )
    assert lip["Unit Original Price"] == Decimal("11.99")
    assert lip["SKU Subtotal Before Discount"] == Decimal("23.98")
    assert lip["SKU Seller Discount"] == Decimal("4.00")
    assert lip["SKU Subtotal After Discount"] == Decimal("19.98")
    # Without an original price, the unit price before discount is the sale price.
    assert hoodie["Unit Original Price"] == Decimal("15.50")
    for row in (lip, hoodie):
        assert row["Order ID"] == "576461413038785752"
        assert row["Order Amount"] == Decimal("41.47")
        assert row["Shipping Fee"] == Decimal("3.99")
        assert row["Carrier"] == "USPS"
        assert row["Tracking Number"] == "9400111"
        assert row["Recipient"] == "Olivia Weber"
        assert row["Address"] == "928 Main St, Apt 4"


def test_order_granularity_has_one_row_with_items_and_units(make_order: MakeOrder) -> None:
    (row,) = order_rows(make_order(), role=Role.ADMIN, zone=UTC_ZONE, granularity=Granularity.ORDER)
    values = as_dict(ORDER_COLUMNS, row)
    assert (values["Items"], values["Units"]) == (2, 3)
    assert values["Order Amount"] == Decimal("41.47")


def test_times_are_in_the_requested_zone_with_their_offset(make_order: MakeOrder) -> None:
    zone = ZoneInfo("Asia/Singapore")
    (row,) = order_rows(make_order(), role=Role.ADMIN, zone=zone, granularity=Granularity.ORDER)
    created = as_dict(ORDER_COLUMNS, row)["Created Time"]
    assert isinstance(created, datetime)
    assert created.isoformat() == "2025-11-20T16:16:00+08:00"
    assert created.utcoffset() == timedelta(hours=8)
    assert as_dict(ORDER_COLUMNS, row)["Delivered Time"] is None


def test_money_keeps_the_currency_places(make_order: MakeOrder) -> None:
    order = make_order(
        payment={"currency": "JPY", "total_amount": "4200", "shipping_fee": "0"},
        line_items=[{"id": "x", "sku_id": "9", "product_name": "Tea", "sale_price": "4200"}],
    )
    (row,) = order_rows(order, role=Role.ADMIN, zone=UTC_ZONE, granularity=Granularity.LINE)
    values = as_dict(LINE_COLUMNS, row)
    assert str(values["Order Amount"]) == "4200"
    assert str(values["Shipping Fee"]) == "0"
    assert values["Currency"] == "JPY"


def test_analyst_sees_masked_pii(make_order: MakeOrder) -> None:
    (row,) = order_rows(
        make_order(), role=Role.ANALYST, zone=UTC_ZONE, granularity=Granularity.ORDER
    )
    values = as_dict(ORDER_COLUMNS, row)
    assert values["Recipient"] == "O. W."
    assert values["Phone"] == "***2626"
    assert values["Email"] == "o***@example.com"
    assert values["Buyer Message"] is None
    assert values["Postal Code"] == "331"
    assert values["Address"] == "Miami, Florida, 331, United States"
    assert "928 Main St" not in [v for v in values.values() if isinstance(v, str)]
    # What is not PII stays.
    assert (values["City"], values["State"], values["Country"]) == (
        "Miami",
        "Florida",
        "United States",
    )
    assert values["Buyer User ID"] == "7000000000000000001"


def test_operations_see_full_pii(make_order: MakeOrder) -> None:
    (row,) = order_rows(
        make_order(), role=Role.OPERATIONS, zone=UTC_ZONE, granularity=Granularity.ORDER
    )
    values = as_dict(ORDER_COLUMNS, row)
    assert (values["Phone"], values["Email"]) == ("(+1)678722626", "olivia.weber@example.com")
