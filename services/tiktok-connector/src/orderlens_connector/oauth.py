"""Use cases of shop authorization: the authorize link and the callback (docs/decisions/0095)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

from orderlens.constant_time import same_secret

from .adapters.tiktok_client import TokenGrant


class OAuthError(Exception):
    """The callback cannot be completed; the message names what was wrong (no secrets)."""


class Authorizer(Protocol):
    async def token_get(self, auth_code: str) -> TokenGrant: ...

    async def authorized_shops(self, access_token: str) -> list[dict[str, Any]]: ...


class ShopConnector(Protocol):
    async def connect(self, shops: Sequence[dict[str, Any]], grant: TokenGrant) -> None: ...


class SyncStarter(Protocol):
    async def start(self, shop_id: str) -> None:
        """Schedule the shop's backfill (idempotent: a reconnect keeps the progress)."""
        ...


def _mac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def make_state(secret: str, now: float | None = None) -> str:
    # Stateless and unguessable: issued-at + nonce + HMAC, so no store is needed to check it.
    issued = str(int(time.time() if now is None else now))
    nonce = secrets.token_urlsafe(12)
    return f"{issued}.{nonce}.{_mac(secret, f'{issued}.{nonce}')}"


def state_is_valid(secret: str, state: str, ttl: int, now: float | None = None) -> bool:
    parts = state.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    issued, nonce, mac = parts
    if not same_secret(mac, _mac(secret, f"{issued}.{nonce}")):
        return False
    age = (time.time() if now is None else now) - int(issued)
    return 0 <= age <= ttl


def authorize_url(*, authorize_base: str, app_key: str, redirect_url: str, state: str) -> str:
    query = urlencode({"app_key": app_key, "state": state, "redirect_uri": redirect_url})
    separator = "&" if "?" in authorize_base else "?"
    return f"{authorize_base}{separator}{query}"


async def complete_authorization(
    code: str,
    state: str,
    *,
    secret: str,
    state_ttl: int,
    authorizer: Authorizer,
    shops: ShopConnector,
    sync: SyncStarter,
) -> list[str]:
    """State checked first, then code → tokens → the shops they cover → stored and backfilled."""
    if not state_is_valid(secret, state, state_ttl):
        raise OAuthError("state: missing, forged or expired")
    if not code:
        raise OAuthError("code: missing")
    grant = await authorizer.token_get(code)
    authorized = await authorizer.authorized_shops(grant.access_token)
    if not authorized:
        raise OAuthError("the authorization covers no shop")
    await shops.connect(authorized, grant)
    ids = [str(s["id"]) for s in authorized]
    for shop_id in ids:
        await sync.start(shop_id)
    return ids
