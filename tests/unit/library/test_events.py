"""The event contract of docs/contract.md §3: what is accepted, what is refused and why."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from orderlens.domain.status import OrderStatus
from orderlens.events import (
    EventType,
    InvalidEvent,
    OrderCreated,
    StatusChanged,
    decode,
    encode,
    make_event,
)


def tiktok_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "576461413038785752",
        "status": "AWAITING_SHIPMENT",
        "create_time": 1763626560,
        "update_time": 1763626600,
        "payment": {"currency": "USD", "total_amount": "25.98"},
        "line_items": [
            {"id": "1", "sku_id": "17293847", "product_name": "Lip Oil", "sale_price": "12.99"},
            {"id": "2", "sku_id": "17293847", "product_name": "Lip Oil", "sale_price": "12.99"},
        ],
    }
    order.update(overrides)
    return order


def envelope(data: dict[str, Any], **overrides: Any) -> bytes:
    event = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "tiktok-shop/webhook",
        "type": "orderlens.order.created.v1",
        "time": "2026-11-20T08:16:00Z",
        "subject": "576461413038785752",
        "datacontenttype": "application/json",
        "data": data,
    }
    event.update(overrides)
    return json.dumps(event).encode()


def test_a_tiktok_order_event_is_accepted_with_unknown_fields_ignored() -> None:
    order = tiktok_order(brand_new_tiktok_field={"x": 1}, status="CANCEL")
    event = decode(envelope({"shop_id": "7494", "order": order}))
    assert isinstance(event.data, OrderCreated)
    assert event.data.order.status == OrderStatus.CANCELLED
    assert event.data.order.id == "576461413038785752"


def test_large_numeric_ids_stay_exact_strings() -> None:
    order = tiktok_order(id=576461413038785752)
    raw = envelope({"shop_id": "7494", "order": order}).replace(
        b'"id": 576461413038785752', b'"id": 576461413038785752'
    )
    event = decode(raw)
    assert event.data.order.id == "576461413038785752"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json at all", "not a CloudEvent"),
        (b'{"specversion": "1.0"}', "not a CloudEvent"),
        (envelope({"shop_id": "7494", "order": tiktok_order(line_items=[])}), "line_items"),
        (envelope({"shop_id": "7494", "order": tiktok_order(status="SHIPPED")}), "status"),
        (
            envelope({"shop_id": "7494", "order": tiktok_order(payment={"currency": "USD"})}),
            "total_amount",
        ),
        (envelope({"shop_id": "7494", "order": tiktok_order()}, subject="other"), "subject"),
        (envelope({"shop_id": "7494", "order": tiktok_order()}, type="x.y"), "not a CloudEvent"),
        # An id the API could not address or the local server compare goes to the dead letters.
        (
            envelope({"shop_id": "7494", "order": tiktok_order(id="Ωmega 1")}, subject="Ωmega 1"),
            "order.id",
        ),
        (
            envelope({"shop_id": "7494", "order": tiktok_order(id="9" * 65)}, subject="9" * 65),
            "order.id",
        ),
        (
            envelope(
                {
                    "order_id": "a/b",
                    "shop_id": "7494",
                    "occurred_at": "2026-11-20T08:16:00Z",
                    "source": "carrier",
                    "status": "IN_TRANSIT",
                },
                type=EventType.STATUS_CHANGED.value,
                subject="a/b",
            ),
            "order_id",
        ),
    ],
)
def test_invalid_messages_are_refused_with_a_readable_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        decode(raw)


def test_status_change_needs_something_to_change() -> None:
    data = {
        "order_id": "1",
        "shop_id": "s",
        "occurred_at": "2026-11-20T08:16:00Z",
        "source": "carrier",
    }
    raw = envelope(data, type=EventType.STATUS_CHANGED.value, subject="1")
    with pytest.raises(InvalidEvent, match="one of status, return_status, package"):
        decode(raw)


def test_round_trip_through_bytes() -> None:
    data = StatusChanged(
        order_id="1",
        shop_id="s",
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
        source="seller",
        status=OrderStatus.CANCELLED,
        reason="Out of stock",
    )
    event = make_event(data, source="test", subject="1")
    assert event.type == EventType.STATUS_CHANGED
    decoded = decode(encode(event), expected=EventType.STATUS_CHANGED)
    assert decoded == event
    with pytest.raises(InvalidEvent, match="unexpected event type"):
        decode(encode(event), expected=EventType.ORDER_CREATED)
