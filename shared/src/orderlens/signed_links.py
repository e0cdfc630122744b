"""Signed, expiring buyer links (docs/contract.md §5.1 buyer row; decision 0120).

A link token is `<base64url(JSON payload)>.<base64url(HMAC-SHA256(secret, payload part))>`. The
payload names the kind (`seller`: a link a seller sends, usable until it expires; `sign_in`: a
one-time link mailed to the order's address), the buyer user id, the shops, the expiry (Unix
seconds) and a random nonce (the one-time key). The signature is checked before the payload is
parsed, in constant time.

API:
- `LinkKind`, `BuyerLink(kind, buyer_user_id, shops, expires_at, nonce)`.
- `sign_link(link, secret) -> str`; `verify_link(token, secret, now) -> BuyerLink`, raising
  `LinkRefused` (reason safe to show) for a tampered, malformed or expired token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orderlens.constant_time import same_secret

MAX_TOKEN_LENGTH = 4_000
# The console's page that opens a link: query-api builds links as the console's public URL plus
# this path, so the one setting both read (`CONSOLE_PUBLIC_URL`) configures it (decision 0182).
BUYER_LANDING_PATH = "/buyer/open"


class LinkKind(StrEnum):
    SELLER = "seller"
    SIGN_IN = "sign_in"


class LinkRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BuyerLink(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: LinkKind
    buyer_user_id: str = Field(min_length=1, max_length=100)
    shops: tuple[str, ...] = Field(min_length=1, max_length=1_000)
    expires_at: int
    nonce: str = Field(default_factory=lambda: secrets.token_urlsafe(16), min_length=8)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> bytes:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()


def sign_link(link: BuyerLink, secret: str) -> str:
    payload = _b64(json.dumps(link.model_dump(mode="json"), separators=(",", ":")).encode())
    return f"{payload}.{_b64(_mac(secret, payload))}"


def verify_link(token: str, secret: str, now: datetime | None = None) -> BuyerLink:
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise LinkRefused("malformed link")
    payload, signature = token.split(".")
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise LinkRefused("malformed link") from None
    if not same_secret(given, _mac(secret, payload)):
        raise LinkRefused("link signature does not match")
    try:
        link = BuyerLink.model_validate_json(_unb64(payload))
    except (binascii.Error, ValueError, ValidationError):
        raise LinkRefused("malformed link") from None
    moment = now or datetime.now(UTC)
    if link.expires_at <= int(moment.timestamp()):
        raise LinkRefused("link has expired")
    return link
