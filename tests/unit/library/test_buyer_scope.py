"""Buyer tokens, buyer tabs and signed buyer links (docs/contract.md §4.2, §5.1 buyer row)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderlens.domain.buyer import BUYER_TAB_LABELS, SELLER_ONLY_FIELDS, TAB_STATUSES, BuyerTab
from orderlens.domain.status import OrderStatus
from orderlens.roles import SELLER_ROLES, Permission, Role, has_permission
from orderlens.signed_links import BuyerLink, LinkKind, LinkRefused, sign_link, verify_link
from orderlens.tokens import InvalidToken, TokenVerifier, mint_token

SECRET = "test-secret"


def test_buyer_tokens_carry_the_buyer_user_id_and_seller_tokens_never_do() -> None:
    verifier = TokenVerifier(secret=SECRET)
    token = mint_token(sub="b", role="buyer", shops=["s1"], secret=SECRET, buyer_user_id="77")
    principal = verifier.verify(token)
    assert principal.role == Role.BUYER
    assert principal.buyer_user_id == "77"
    with pytest.raises(InvalidToken, match="buyer_user_id"):
        verifier.verify(mint_token(sub="b", role="buyer", shops=["s1"], secret=SECRET))
    with pytest.raises(InvalidToken, match="buyer_user_id"):
        verifier.verify(
            mint_token(sub="a", role="admin", shops=["s1"], secret=SECRET, buyer_user_id="77")
        )


def test_a_buyer_has_no_seller_permission_and_no_seller_has_the_buyer_one() -> None:
    seller_permissions = set(Permission) - {Permission.OWN_ORDERS, Permission.FULL_PII}
    assert not any(has_permission(Role.BUYER, p) for p in seller_permissions)
    assert not any(has_permission(r, Permission.OWN_ORDERS) for r in SELLER_ROLES)


def test_every_status_has_exactly_one_buyer_status_tab_with_tiktok_wording() -> None:
    tabs = [t for t in BuyerTab if t != BuyerTab.RETURNS]
    for status in OrderStatus:
        assert sum(status in TAB_STATUSES[t] for t in tabs) == 1, status
    assert TAB_STATUSES[BuyerTab.WAITING_FOR_DELIVERY] == {
        OrderStatus.ON_HOLD,
        OrderStatus.AWAITING_SHIPMENT,
        OrderStatus.PARTIALLY_SHIPPING,
        OrderStatus.AWAITING_COLLECTION,
    }
    assert TAB_STATUSES[BuyerTab.RECEIVED] == {OrderStatus.DELIVERED, OrderStatus.COMPLETED}
    assert list(BUYER_TAB_LABELS.values()) == [
        "Unpaid",
        "Waiting for delivery",
        "In transit",
        "Received",
        "Cancelled",
        "Returns/Refund",
    ]
    assert {"seller_note", "risk_flags", "history"} <= SELLER_ONLY_FIELDS


def _link(expires_in: timedelta) -> BuyerLink:
    now = datetime.now(UTC)
    return BuyerLink(
        kind=LinkKind.SIGN_IN,
        buyer_user_id="77",
        shops=("s1",),
        expires_at=int((now + expires_in).timestamp()),
    )


def test_links_verify_and_refuse_tampering_and_expiry() -> None:
    link = _link(timedelta(minutes=5))
    token = sign_link(link, SECRET)
    assert verify_link(token, SECRET) == link
    with pytest.raises(LinkRefused, match="signature"):
        verify_link(token, "other-secret")
    other = sign_link(link.model_copy(update={"buyer_user_id": "78"}), "guess")
    with pytest.raises(LinkRefused, match="signature"):
        verify_link(f"{other.split('.')[0]}.{token.split('.')[1]}", SECRET)
    with pytest.raises(LinkRefused, match="expired"):
        verify_link(sign_link(_link(timedelta(seconds=-1)), SECRET), SECRET)
    for bad in ("", "a.b.c", "x" * 5_000, "abc.!!!"):
        with pytest.raises(LinkRefused):
            verify_link(bad, SECRET)
