"""The buyer pages' rules without a server: times in the buyer's zone, the stalled and delivery
issue messages, the refusal wording of links, and the buyer's own session cookie."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus
from orderlens.filters import is_stalled
from orderlens.roles import Role
from orderlens_console import buyer_service
from orderlens_console.sessions import SessionCodec, new_buyer_session, new_session

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def order(
    status: str, tracking: str, checkpoint_at: datetime | None, **extra: Any
) -> dict[str, Any]:
    checkpoints = (
        [{"at": checkpoint_at.isoformat(), "status": tracking, "message": None, "location": None}]
        if checkpoint_at
        else []
    )
    return {
        "status": status,
        "return_status": "NONE",
        "delivery_issue": False,
        "estimated_delivery_at": None,
        "timestamps": {"created_at": "2026-11-20T08:00:00Z", "updated_at": "2026-11-21T08:00:00Z"},
        "packages": [
            {
                "tracking_status": tracking,
                "checkpoints": checkpoints,
                "last_checkpoint_at": checkpoint_at.isoformat() if checkpoint_at else None,
                "estimated_delivery_at": None,
            }
        ],
        **extra,
    }


def test_times_are_the_buyers_wall_clock_with_the_zone_named() -> None:
    shown = buyer_service.local_time("2026-03-31T14:09:40Z", "Asia/Tokyo")
    assert shown == {"iso": "2026-03-31T14:09:40+00:00", "text": "31 Mar 2026, 23:09 JST"}
    summer = buyer_service.local_time("2026-07-01T10:00:00+00:00", "Europe/Berlin")
    assert summer is not None
    assert summer["text"] == "01 Jul 2026, 12:00 CEST"
    assert buyer_service.local_time(None, "UTC") is None


def test_an_unknown_zone_is_read_as_utc() -> None:
    assert buyer_service.zone_name("Mars/Olympus") == "UTC"
    assert buyer_service.zone_name("../../etc/passwd") == "UTC"
    assert buyer_service.zone_name("America/Sao_Paulo") == "America/Sao_Paulo"


def test_a_parcel_without_news_for_the_threshold_is_stalled_and_says_since_when() -> None:
    last = NOW - timedelta(hours=80)
    page = buyer_service.order_page(
        order("IN_TRANSIT", "IN_TRANSIT", last), "UTC", stalled_hours=72, now=NOW
    )
    assert page["stalled"]
    assert page["stalled_since"]["text"] == f"{last:%d %b %Y, %H:%M} UTC"
    fresh = buyer_service.order_page(
        order("IN_TRANSIT", "IN_TRANSIT", NOW - timedelta(hours=70)),
        "UTC",
        stalled_hours=72,
        now=NOW,
    )
    assert not fresh["stalled"]
    delivered = buyer_service.order_page(
        order("DELIVERED", "DELIVERED", last), "UTC", stalled_hours=72, now=NOW
    )
    assert not delivered["stalled"]


def test_the_page_rule_is_the_stalled_filters_rule() -> None:
    old = NOW - timedelta(hours=5)
    # No checkpoint yet: the order's last update counts, as in the filter.
    assert is_stalled(OrderStatus.AWAITING_COLLECTION, None, old, hours=4, now=NOW)
    assert not is_stalled(OrderStatus.AWAITING_COLLECTION, None, old, hours=6, now=NOW)


def with_estimate(raw: dict[str, Any], at: datetime) -> dict[str, Any]:
    raw["estimated_delivery_at"] = at.isoformat()
    raw["packages"][0]["estimated_delivery_at"] = at.isoformat()
    return raw


def test_an_estimate_passed_on_the_way_is_later_than_estimated() -> None:
    yesterday, tomorrow = NOW - timedelta(days=1), NOW + timedelta(days=1)
    late = buyer_service.order_page(
        with_estimate(order("IN_TRANSIT", "IN_TRANSIT", NOW), yesterday),
        "UTC",
        stalled_hours=72,
        now=NOW,
    )
    assert late["estimated"] == {
        "iso": yesterday.isoformat(),
        "text": f"{yesterday:%d %b %Y, %H:%M} UTC",
        "late": True,
    }
    assert late["packages_view"][0]["estimated"]["late"]
    on_time = buyer_service.order_page(
        with_estimate(order("IN_TRANSIT", "IN_TRANSIT", NOW), tomorrow),
        "UTC",
        stalled_hours=72,
        now=NOW,
    )
    assert not on_time["estimated"]["late"]
    assert not on_time["packages_view"][0]["estimated"]["late"]
    for status in ("DELIVERED", "COMPLETED", "CANCELLED"):
        ended = buyer_service.order_page(
            with_estimate(order(status, "DELIVERED", NOW), yesterday),
            "UTC",
            stalled_hours=72,
            now=NOW,
        )
        assert not ended["estimated"]["late"], status
        assert not ended["packages_view"][0]["estimated"]["late"], status
    # One parcel of an order still on its way has arrived: that parcel is not late.
    arrived = buyer_service.order_page(
        with_estimate(order("IN_TRANSIT", "DELIVERED", NOW), yesterday),
        "UTC",
        stalled_hours=72,
        now=NOW,
    )
    assert arrived["estimated"]["late"]
    assert not arrived["packages_view"][0]["estimated"]["late"]
    unknown = buyer_service.order_page(
        order("IN_TRANSIT", "IN_TRANSIT", NOW), "UTC", stalled_hours=72, now=NOW
    )
    assert unknown["estimated"] is None


def test_the_order_center_says_later_than_estimated_too() -> None:
    item = {
        "id": "o 1",
        "status": "AWAITING_COLLECTION",
        "created_at": "2026-11-20T08:00:00Z",
        "estimated_delivery_at": (NOW - timedelta(hours=1)).isoformat(),
    }
    shown = buyer_service.center_item(item, "UTC", NOW)
    assert shown["href"] == "/buyer/orders/o%201"
    assert shown["estimated"]["late"]
    assert not buyer_service.center_item(item, "UTC", NOW - timedelta(hours=2))["estimated"]["late"]


@pytest.mark.parametrize(
    ("tracking", "words"),
    [
        (TrackingStatus.FAILED_ATTEMPT, "could not"),
        (TrackingStatus.EXCEPTION, "reported a problem"),
        (TrackingStatus.RETURNED_TO_SENDER, "going back to the shop"),
    ],
)
def test_every_issue_state_has_a_message(tracking: TrackingStatus, words: str) -> None:
    page = buyer_service.order_page(
        order("IN_TRANSIT", tracking.value, NOW, delivery_issue=True),
        "UTC",
        stalled_hours=72,
        now=NOW,
    )
    assert words in page["packages_view"][0]["issue"]
    assert not page["issue_unexplained"]


def test_every_tracking_and_return_state_has_buyer_words() -> None:
    assert set(buyer_service.TRACKING_WORDS) == set(TrackingStatus)
    assert set(buyer_service.RETURN_WORDS) == set(ReturnStatus)


def test_timeline_is_newest_first() -> None:
    raw = order("IN_TRANSIT", "IN_TRANSIT", None)
    raw["packages"][0]["checkpoints"] = [
        {"at": "2026-12-01T08:00:00Z", "status": "INFO_RECEIVED"},
        {"at": "2026-12-02T08:00:00Z", "status": "IN_TRANSIT", "message": "Departed"},
    ]
    page = buyer_service.order_page(raw, "UTC", stalled_hours=72, now=NOW)
    assert [c["status"] for c in page["packages_view"][0]["timeline"]] == [
        "IN_TRANSIT",
        "INFO_RECEIVED",
    ]


@pytest.mark.parametrize(
    ("detail", "words"),
    [
        ("link has expired", "has expired"),
        ("link has already been used", "already been used"),
        ("bad signature", "not valid"),
        ("malformed link", "not valid"),
    ],
)
def test_refused_links_are_told_in_plain_words(detail: str, words: str) -> None:
    assert words in buyer_service._refusal(detail)


def test_a_buyer_cookie_is_not_a_seller_session_and_ends_with_its_token() -> None:
    codec = SessionCodec("s" * 32, 3600)
    buyer = new_buyer_session(
        buyer_user_id="7001", api_token="jwt", expires_at=int(NOW.timestamp()) + 60, tz="UTC"
    )
    cookie = codec.dumps_buyer(buyer)
    assert codec.loads_buyer(cookie, NOW.timestamp()) == buyer
    assert codec.loads_buyer(cookie, NOW.timestamp() + 61) is None  # the buyer token expired
    assert codec.loads(cookie) is None  # never a seller's session
    seller = codec.dumps(new_session(sub="a", name="A", role=Role.ADMIN, shops=("1",)))
    assert codec.loads_buyer(seller, NOW.timestamp()) is None
    assert codec.loads_buyer(cookie[:-2] + "xx", NOW.timestamp()) is None
