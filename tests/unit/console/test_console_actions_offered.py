"""The order page offers only actions that the role may use AND the order's status allows: an
operator opening a delivered order sees no Ship or Cancel button that would only answer 409."""

from __future__ import annotations

import pytest

from orderlens.domain.status import OrderStatus
from orderlens.roles import Role
from orderlens_console.service import Capabilities


def _offered(role: Role, status: OrderStatus, paid: bool = True) -> set[str]:
    order = {"status": status.value, "paid_at": "2026-11-30T10:00:00Z" if paid else None}
    caps = Capabilities.of(role).for_order(order)
    return {name for name in ("confirm", "ship", "cancel") if getattr(caps, name)}


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (OrderStatus.ON_HOLD, {"confirm", "cancel"}),
        (OrderStatus.AWAITING_SHIPMENT, {"ship", "cancel"}),
        (OrderStatus.AWAITING_COLLECTION, {"cancel"}),
        (OrderStatus.IN_TRANSIT, set()),
        (OrderStatus.DELIVERED, set()),
        (OrderStatus.COMPLETED, set()),
        (OrderStatus.CANCELLED, set()),
    ],
)
def test_an_operator_is_offered_what_the_status_allows(
    status: OrderStatus, offered: set[str]
) -> None:
    assert _offered(Role.OPERATIONS, status) == offered


def test_the_role_still_limits_what_is_offered() -> None:
    assert _offered(Role.CUSTOMER_SERVICE, OrderStatus.AWAITING_SHIPMENT) == {"cancel"}
    assert _offered(Role.ANALYST, OrderStatus.AWAITING_SHIPMENT) == set()


def test_an_unpaid_order_cannot_be_confirmed() -> None:
    assert "confirm" not in _offered(Role.ADMIN, OrderStatus.UNPAID, paid=False)
    assert "confirm" in _offered(Role.ADMIN, OrderStatus.UNPAID, paid=True)
