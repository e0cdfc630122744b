"""Connected shops in a real MongoDB-wire server: encrypted tokens, rotation, refresh, revoking."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken

from orderlens_connector.adapters.shop_store import (
    SeenNotificationsStore,
    ShopStore,
    key_ring,
)
from orderlens_connector.adapters.tiktok_client import AuthorizationLost, TokenGrant

pytestmark = pytest.mark.integration

NOW = 1_700_000_000


def grant(n: int, expires_in: int = 7 * 24 * 3600) -> TokenGrant:
    return TokenGrant(
        access_token=f"TTP_access_{n}",
        access_token_expire_in=NOW + expires_in,
        refresh_token=f"TTP_refresh_{n}",
        refresh_token_expire_in=NOW + 365 * 24 * 3600,
        open_id="o",
        seller_name="Demo",
    )


SHOPS = [{"id": "7001", "cipher": "ROW_c", "name": "Demo"}]


async def test_tokens_are_encrypted_at_rest_and_keys_rotate(mongo_db: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    async def never(refresh_token: str) -> TokenGrant:
        raise AssertionError("no refresh expected")

    store = ShopStore(mongo_db, key_ring(old), never, clock=lambda: NOW)
    await store.connect(SHOPS, grant(1))
    raw = await mongo_db["tiktok_shops"].find_one({"_id": "7001"})
    assert b"TTP_access_1" not in bytes(raw["access_token"])
    assert "TTP_refresh_1" not in repr(raw)
    assert await store.access_token("7001") == "TTP_access_1"

    rotated = ShopStore(mongo_db, key_ring(f"{new},{old}"), never, clock=lambda: NOW)
    assert await rotated.rotate_keys() == 1
    only_new = ShopStore(mongo_db, key_ring(new), never, clock=lambda: NOW)
    assert await only_new.access_token("7001") == "TTP_access_1"
    with pytest.raises(InvalidToken):
        await ShopStore(mongo_db, key_ring(old), never, clock=lambda: NOW).access_token("7001")


async def test_refreshed_before_expiry_once_for_concurrent_callers(mongo_db: Any) -> None:
    refreshed: list[str] = []

    async def refresher(refresh_token: str) -> TokenGrant:
        refreshed.append(refresh_token)
        await asyncio.sleep(0.05)
        return grant(2)

    store = ShopStore(
        mongo_db,
        key_ring(Fernet.generate_key().decode()),
        refresher,
        refresh_margin=3600,
        clock=lambda: NOW,
    )
    await store.connect(SHOPS, grant(1, expires_in=600))  # inside the margin: refresh first
    tokens = await asyncio.gather(*(store.access_token("7001") for _ in range(5)))
    assert tokens == ["TTP_access_2"] * 5
    assert refreshed == ["TTP_refresh_1"]


async def test_refused_refresh_revokes_the_shop_visibly(mongo_db: Any) -> None:
    async def refused(refresh_token: str) -> TokenGrant:
        raise AuthorizationLost("token_refresh refused: Invalid refresh_token", code=36004004)

    store = ShopStore(
        mongo_db, key_ring(Fernet.generate_key().decode()), refused, clock=lambda: NOW
    )
    await store.connect(SHOPS, grant(1))
    with pytest.raises(AuthorizationLost):
        await store.refresh("7001", "TTP_access_1")
    state = await store.state("7001")
    assert state["state"] == "revoked"
    assert "Invalid refresh_token" in state["state_reason"]
    assert "access_token" not in state
    assert await store.shop("7001") is None
    with pytest.raises(AuthorizationLost):
        await store.access_token("7001")  # no retry loop: a revoked shop has no token


async def test_seen_notifications(mongo_db: Any) -> None:
    seen = SeenNotificationsStore(mongo_db)
    assert await seen.unseen(["a", "b"]) == {"a", "b"}
    await seen.mark_seen(["a"])
    await seen.mark_seen(["a", "b"])  # marking twice is harmless
    assert await seen.unseen(["a", "b", "c"]) == {"c"}
