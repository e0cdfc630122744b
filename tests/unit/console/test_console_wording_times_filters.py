"""What the pages say and send: the seller's wording, times in the view's zone, and the filter
bar's fields turned into query-api's parameters (docs/contract.md §4.2, §5.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderlens.domain.status import BUYER_LABELS, SELLER_VIEW_LABELS, OrderStatus, View
from orderlens.filters import REPEATABLE, parse_filters
from orderlens_console import service
from orderlens_console.formatting import localtime, seller_status, view_zone

BUYER_ONLY = set(BUYER_LABELS.values()) - {"Unpaid", "In transit", "Cancelled"}


def test_tabs_and_statuses_use_the_sellers_wording() -> None:
    assert [label for _, label in service.TABS] == [
        "Unpaid",
        "To ship",
        "Shipped",
        "Delivered",
        "Completed",
        "Cancelled",
        "Returns",
    ]
    assert {view for view, _ in service.TABS} == set(View)
    assert set(SELLER_VIEW_LABELS) == set(View)
    seller = {seller_status(s) for s in OrderStatus}
    assert not seller & BUYER_ONLY, "a seller page would show the buyer's wording"
    assert seller_status("DELIVERED") == "Delivered"
    assert seller_status("COMPLETED") == "Completed"
    assert not set(service.STATUS_LABELS.values()) & BUYER_ONLY


def test_times_are_shown_in_the_zone_with_its_name() -> None:
    assert localtime("2026-03-31T17:05:09Z", "America/Los_Angeles") == "2026-03-31 10:05 PDT"
    assert localtime("2026-01-15T17:05:09+00:00", "America/Los_Angeles") == "2026-01-15 09:05 PST"
    assert localtime("2026-03-31T17:05:09Z", "UTC") == "2026-03-31 17:05 UTC"
    # A zone without an abbreviation is named by its offset.
    assert localtime("2026-03-31T17:05:09Z", "Asia/Dubai") == "2026-03-31 21:05 UTC+04:00"
    assert localtime(None, "UTC") == ""


def test_the_view_zone_is_the_urls_then_the_users_then_the_shops() -> None:
    assert view_zone("Europe/Paris", "Asia/Tokyo", "UTC") == "Europe/Paris"
    assert view_zone(None, "Asia/Tokyo", "UTC") == "Asia/Tokyo"
    assert view_zone("Not/AZone", "../../etc/passwd", "America/Chicago") == "America/Chicago"


def test_repeatable_fields_become_repeated_parameters_and_single_ones_stay() -> None:
    pairs = [
        ("country", "US, CA"),
        ("status", "AWAITING_SHIPMENT"),
        ("status", "IN_TRANSIT"),
        ("product", "Mug, large"),  # not repeatable: a comma is part of the text
        ("carrier", " "),
        ("preset", ""),
        ("paid_from", "2026-03-01"),
    ]
    params = service.api_params(pairs)
    assert params == [
        ("country", "US"),
        ("country", "CA"),
        ("status", "AWAITING_SHIPMENT"),
        ("status", "IN_TRANSIT"),
        ("product", "Mug, large"),
        ("paid_from", "2026-03-01"),
    ]
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        grouped.setdefault(key, []).append(value)
    filters = parse_filters(grouped)  # query-api accepts them as they are
    assert filters.country == ("US", "CA")
    export = service.export_filters(pairs)
    assert export["country"] == ["US", "CA"]
    assert export["product"] == "Mug, large"
    assert {"country", "status", "sku", "carrier", "tracking_number"} <= REPEATABLE


def test_presets_are_read_in_the_views_zone() -> None:
    # 03:00 UTC on 1 April is still 31 March in Los Angeles.
    now = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
    la = service.api_params([("preset", "today")], zone="America/Los_Angeles", now=now)
    assert ("created_from", "2026-03-31") in la
    assert ("tz", "America/Los_Angeles") in la
    utc = service.api_params([("preset", "today")], now=now)
    assert utc == [("created_from", "2026-04-01")]
    week = service.api_params([("preset", "7d"), ("tz", "Asia/Tokyo")], zone="UTC", now=now)
    assert week == [("tz", "Asia/Tokyo"), ("created_from", "2026-03-26")]


def test_the_seller_order_page_marks_an_estimate_passed_on_the_way() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    past, future = "2026-11-30T10:00:00Z", (now + timedelta(days=2)).isoformat()
    order = {
        "status": "IN_TRANSIT",
        "estimated_delivery_at": past,
        "packages": [
            {"tracking_status": "IN_TRANSIT", "estimated_delivery_at": past},
            {"tracking_status": "DELIVERED", "estimated_delivery_at": past},
            {"tracking_status": "IN_TRANSIT", "estimated_delivery_at": future},
            {"tracking_status": "PENDING", "estimated_delivery_at": None},
        ],
    }
    view = service.order_view(order, now=now)
    assert view["estimate_late"]
    assert [p["estimate_late"] for p in view["packages"]] == [True, False, False, False]
    delivered = service.order_view({**order, "status": "DELIVERED"}, now=now)
    assert not delivered["estimate_late"]
    assert not any(p["estimate_late"] for p in delivered["packages"])
