"""PII masking per role, and the role matrix of docs/contract.md §5.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderlens.domain.order import Address, Buyer, Money, Order
from orderlens.domain.status import OrderStatus
from orderlens.masking import mask_email, mask_name, mask_order, mask_phone, mask_postal_code
from orderlens.roles import (
    SELLER_ROLES,
    Action,
    Permission,
    Role,
    has_permission,
    may_act,
    sees_full_pii,
)


def an_order() -> Order:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    return Order(
        id="o1",
        shop_id="s1",
        status=OrderStatus.AWAITING_SHIPMENT,
        created_at=now,
        updated_at=now,
        buyer=Buyer(user_id="u-77", email="jane.doe@example.com", message="call 555-0134"),
        recipient=Address(
            name="Jane van Dyke",
            phone="+1 (415) 555-0134",
            lines=["1 Market St", "Apt 5"],
            full_address="1 Market St, Apt 5, San Francisco, CA 94107",
            postal_code="94107",
            country_code="US",
            country="United States",
            state="California",
            city="San Francisco",
            district="SoMa",
        ),
        money=Money(currency="USD", total=1000),
        items=[],
        units=0,
        source_update_time=0,
        last_synced_at=now,
    )


def test_single_values() -> None:
    assert mask_name("Jane van Dyke") == "J. V. D."
    assert mask_phone("+1 (415) 555-0134") == "***0134"
    assert mask_email("jane.doe@example.com") == "j***@example.com"
    assert mask_postal_code("94107") == "941"
    assert mask_postal_code("SW1A 1AA") == "SW1A"
    assert mask_name(None) is None


def test_analysts_see_masked_pii() -> None:
    masked = mask_order(an_order(), Role.ANALYST)
    text = masked.model_dump_json()
    for secret in ("Jane", "Dyke", "555-0134", "jane.doe", "Market St", "94107", "SoMa"):
        assert secret not in text
    assert masked.recipient.city == "San Francisco"
    assert masked.recipient.state == "California"
    assert masked.recipient.country_code == "US"
    assert masked.buyer.user_id == "u-77"
    assert masked.buyer.message is None


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATIONS, Role.CUSTOMER_SERVICE])
def test_other_roles_see_full_pii(role: Role) -> None:
    assert mask_order(an_order(), role) == an_order()


def test_the_role_matrix() -> None:
    # A buyer sees their own details in full (docs/contract.md §5.1): the scope is their orders.
    assert [r for r in Role if sees_full_pii(r)] == [
        Role.ADMIN,
        Role.OPERATIONS,
        Role.CUSTOMER_SERVICE,
        Role.BUYER,
    ]
    assert [r for r in Role if has_permission(r, Permission.READ_STATS)] == [
        Role.ADMIN,
        Role.ANALYST,
    ]
    assert [r for r in Role if has_permission(r, Permission.EXPORT)] == [
        Role.ADMIN,
        Role.OPERATIONS,
        Role.ANALYST,
    ]
    assert {a for a in Action if may_act(Role.OPERATIONS, a)} == set(Action)
    assert {a for a in Action if may_act(Role.CUSTOMER_SERVICE, a)} == {Action.CANCEL}
    assert not any(may_act(Role.ANALYST, a) for a in Action)
    assert all(has_permission(r, Permission.READ_ORDERS) for r in SELLER_ROLES)
