"""Pure parts of query-api: the action rules, sales tallies, anomaly rule, percentiles, the
documented query parameters, and the list rows' masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderlens.domain.status import OrderStatus
from orderlens.filters import FILTER_PARAMS, PAGING_PARAMS
from orderlens.roles import Action, Role
from orderlens.seller_actions import action_error
from orderlens_query.presenters import detail, stored_order, summary
from orderlens_query.query_params import documented_names
from orderlens_query.services.order_stats import is_anomaly, percentile
from orderlens_query.services.sales_stats import build_sales
from orderlens_query.windows import Compare, Interval, resolve_window


@pytest.mark.parametrize(
    ("action", "status", "paid", "allowed"),
    [
        (Action.CONFIRM, OrderStatus.ON_HOLD, True, True),
        (Action.CONFIRM, OrderStatus.UNPAID, True, True),
        (Action.CONFIRM, OrderStatus.UNPAID, False, False),
        (Action.CONFIRM, OrderStatus.AWAITING_SHIPMENT, True, False),
        (Action.SHIP, OrderStatus.AWAITING_SHIPMENT, True, True),
        (Action.SHIP, OrderStatus.PARTIALLY_SHIPPING, True, True),
        (Action.SHIP, OrderStatus.ON_HOLD, True, False),
        (Action.SHIP, OrderStatus.IN_TRANSIT, True, False),
        (Action.CANCEL, OrderStatus.UNPAID, False, True),
        (Action.CANCEL, OrderStatus.AWAITING_COLLECTION, True, True),
        (Action.CANCEL, OrderStatus.IN_TRANSIT, True, False),
        (Action.CANCEL, OrderStatus.CANCELLED, True, False),
        (Action.CANCEL, OrderStatus.COMPLETED, True, False),
    ],
)
def test_action_rules(action: Action, status: OrderStatus, paid: bool, allowed: bool) -> None:
    assert (action_error(action, status, paid) is None) is allowed


def test_every_accepted_parameter_is_documented() -> None:
    assert documented_names() == FILTER_PARAMS | PAGING_PARAMS


def test_sales_tallies_per_local_day_and_currency() -> None:
    now = datetime(2025, 3, 20, tzinfo=UTC)
    window = resolve_window("2025-03-09", "2025-03-10", "America/New_York", now=now, max_days=40)
    rows = [
        # 03:45 UTC on the 10th is still the 9th in New York (EDT, UTC-4).
        {
            "currency": "USD",
            "start": datetime(2025, 3, 10, 3, 45, tzinfo=UTC),
            "orders": 2,
            "units": 3,
            "gross": 1001,
            "cancelled": 1,
            "cancelled_gross": 500,
        },
        {
            "currency": "USD",
            "start": datetime(2025, 3, 10, 4, 0, tzinfo=UTC),
            "orders": 1,
            "units": 1,
            "gross": 250,
            "cancelled": 0,
            "cancelled_gross": 0,
        },
        {
            "currency": "JPY",
            "start": datetime(2025, 3, 9, 12, 0, tzinfo=UTC),
            "orders": 1,
            "units": 1,
            "gross": 1200,
            "cancelled": 0,
            "cancelled_gross": 0,
        },
        # The previous period: 7-8 March.
        {
            "currency": "USD",
            "start": datetime(2025, 3, 8, 12, 0, tzinfo=UTC),
            "orders": 1,
            "units": 1,
            "gross": 100,
            "cancelled": 0,
            "cancelled_gross": 0,
        },
    ]
    stats = build_sales(window, Interval.DAY, Compare.PREVIOUS_PERIOD, "America/New_York", rows)
    jpy, usd = stats.currencies
    assert jpy.currency == "JPY"
    assert jpy.totals.gross == "1200"
    assert [(p.label, p.orders, p.gross) for p in usd.periods] == [
        ("2025-03-09", 2, "10.01"),
        ("2025-03-10", 1, "2.50"),
    ]
    assert usd.periods[0].average_order_value == "5.00"  # 10.01 / 2, half to even
    assert usd.totals.cancelled_gross == "5.00"
    assert usd.comparison is not None
    assert usd.comparison.orders == 1
    assert usd.delta_pct is not None
    assert usd.delta_pct.orders == 200.0


def test_anomaly_rule() -> None:
    assert is_anomaly(40, 0.30, 0.10)
    assert not is_anomaly(10, 0.30, 0.10)  # too few orders to judge
    assert not is_anomaly(40, 0.33, 0.30)  # a rise of 3 points
    assert not is_anomaly(400, 0.62, 0.55)  # 7 points, but only 13% more
    assert is_anomaly(30, 0.06, None)  # a new region


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) is None


def test_list_rows_mask_pii_for_analysts() -> None:
    doc = {
        "_id": "o1",
        "shop_id": "s1",
        "status": "IN_TRANSIT",
        "created_at": datetime(2025, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2025, 1, 2, tzinfo=UTC),
        "money": {"total": 1999, "currency": "USD"},
        "buyer": {"user_id": "u1", "email": "ann.lee@example.com"},
        "recipient": {"name": "Ann Lee", "city": "Austin", "state": "Texas"},
    }
    masked = summary(doc, Role.ANALYST)
    assert masked.recipient.name == "A. L."
    assert masked.buyer.email == "a***@example.com"
    assert masked.total.amount == "19.99"
    assert masked.status_label == "In transit"
    full = summary(doc, Role.CUSTOMER_SERVICE)
    assert full.recipient.name == "Ann Lee"
    assert full.buyer.email == "ann.lee@example.com"
    assert full.created_at + timedelta(days=1) == full.updated_at


@pytest.mark.parametrize(
    ("status", "seller", "buyer"),
    [
        (OrderStatus.DELIVERED, "Delivered", "Received"),
        (OrderStatus.COMPLETED, "Completed", "Received"),
        (OrderStatus.AWAITING_SHIPMENT, "Awaiting shipment", "Waiting for delivery"),
    ],
)
def test_status_label_is_in_the_readers_words(status: OrderStatus, seller: str, buyer: str) -> None:
    doc = {
        "_id": "o1",
        "shop_id": "s1",
        "status": status.value,
        "created_at": datetime(2025, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2025, 1, 2, tzinfo=UTC),
    }
    for role in (Role.ADMIN, Role.OPERATIONS, Role.CUSTOMER_SERVICE, Role.ANALYST):
        assert summary(doc, role).status_label == seller, role
    assert summary(doc, Role.BUYER).status_label == buyer
    stored = {
        **doc,
        "money": {"currency": "USD", "total": 0},
        "items": [],
        "units": 0,
        "source_update_time": 1,
        "last_synced_at": doc["updated_at"],
    }
    order = stored_order(stored)
    assert detail(order, Role.OPERATIONS).status_label == seller
    assert detail(order, Role.BUYER).status_label == buyer


def test_the_openapi_document_lists_what_the_api_answers() -> None:
    from orderlens_query.app import create_app
    from orderlens_query.entrypoints.http.buyer_links import PUBLIC_PATHS

    schema = create_app().openapi()
    assert "HTTPValidationError" not in str(schema)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path in PUBLIC_PATHS:
                assert "security" not in operation, (method, path)
                assert "400" in operation["responses"], (method, path)
            elif path.startswith("/v1/"):
                assert {"400", "401", "403"} <= set(operation["responses"]), (method, path)
                assert operation["security"] == [{"HTTPBearer": []}]
            success = next(code for code in operation["responses"] if code.startswith("2"))
            if success != "204":  # No Content, by definition
                assert operation["responses"][success]["content"], (method, path)
