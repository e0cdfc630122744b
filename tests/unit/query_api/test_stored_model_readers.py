"""Readers of stored orders meet fields a newer writer added (decision 0070, issue 17 #1)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from orderlens.domain.order import Order
from orderlens.roles import Role
from orderlens_exporter.domain.export_model import export_order
from orderlens_query.presenters import detail, stored_order


def _document() -> dict[str, Any]:
    return {
        "_id": "576000000000000001",
        "shop_id": "7000000001",
        "status": "DELIVERED",
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-03T10:00:00Z",
        "money": {"currency": "USD", "total": 2500, "new_money_field": 1},
        "items": [
            {
                "sku_id": "sku-1",
                "product_name": "Mug",
                "quantity": 1,
                "unit_sale_price": 2500,
                "subtotal_before_discount": 2500,
                "subtotal_after_discount": 2500,
                "line_item_ids": ["l1"],
                "new_item_field": "x",
            }
        ],
        "units": 1,
        "history": [
            {
                "event_id": "e1",
                "at": "2026-11-02T10:00:00Z",
                "source": "carrier",
                "tracking_status": "DELIVERED",
                "applied": True,
                "tracking_number": "SIM1",
                "new_history_field": "x",
            }
        ],
        "source_update_time": 1,
        "last_synced_at": "2026-11-03T10:00:00Z",
        "new_top_level_field": {"any": "thing"},
    }


@pytest.mark.parametrize("role", list(Role))
def test_the_detail_view_reads_a_newer_writers_document(role: Role) -> None:
    view = detail(stored_order(_document()), role)
    [entry] = view.history
    assert entry.tracking_number == "SIM1"


def test_the_export_reads_a_newer_writers_document() -> None:
    order = export_order(_document())
    assert order.items[0].sku_id == "sku-1"


def test_the_writer_refuses_what_it_does_not_know() -> None:
    with pytest.raises(ValidationError):
        Order.from_document(_document())
