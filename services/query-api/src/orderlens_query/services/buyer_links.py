"""Buyer links and sign-in (docs/contract.md §5.1 buyer row; decision 0120): the use cases.

- `mint_seller_link`: a seller (admin, customer_service) makes a signed, expiring link that
  opens only one buyer's orders, within the seller's shops where that buyer has orders.
- `request_sign_in`: a buyer gives an e-mail address; when orders carry it, a one-time sign-in
  link is mailed to it. The answer is the same either way, so it reveals nothing.
- `exchange_link`: a valid link becomes a buyer token (`role=buyer`, `buyer_user_id`); a sign-in
  link works once. Tampered, expired or spent links are refused.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from orderlens.mail_outbox import FileOutbox
from orderlens.roles import Role
from orderlens.signed_links import BuyerLink, LinkKind, LinkRefused, sign_link, verify_link
from orderlens.tokens import Principal, mint_token
from orderlens_query.adapters.link_uses import LinkUses
from orderlens_query.adapters.order_reader import OrderReader

MAX_ORDERS_SCANNED = 1_000


@dataclass(frozen=True)
class MintedLink:
    token: str
    url: str
    expires_at: datetime
    shops: tuple[str, ...]


@dataclass(frozen=True)
class BuyerSession:
    token: str
    expires_at: datetime
    buyer_user_id: str
    shops: tuple[str, ...]


def link_url(base_url: str, token: str) -> str:
    return f"{base_url}{'&' if '?' in base_url else '?'}token={token}"


async def mint_seller_link(
    reader: OrderReader,
    principal: Principal,
    buyer_user_id: str,
    ttl: timedelta,
    *,
    secret: str,
    base_url: str,
    now: datetime,
) -> MintedLink | None:
    """None when the buyer has no order in the seller's shops (answered 404)."""
    docs = await reader.find(
        {"buyer.user_id": buyer_user_id, "shop_id": {"$in": list(principal.shops)}},
        {"shop_id": 1},
        limit=MAX_ORDERS_SCANNED,
    )
    shops = tuple(sorted({doc["shop_id"] for doc in docs}))
    if not shops:
        return None
    expires_at = (now + ttl).replace(microsecond=0)
    link = BuyerLink(
        kind=LinkKind.SELLER,
        buyer_user_id=buyer_user_id,
        shops=shops,
        expires_at=int(expires_at.timestamp()),
    )
    token = sign_link(link, secret)
    return MintedLink(token, link_url(base_url, token), expires_at, shops)


async def request_sign_in(
    reader: OrderReader,
    outbox: FileOutbox,
    email: str,
    ttl: timedelta,
    *,
    secret: str,
    base_url: str,
    now: datetime,
) -> None:
    # The address as the buyer types it: case does not matter, nothing in it is a pattern.
    exact = {"$regex": f"^{re.escape(email)}$", "$options": "i"}
    docs = await reader.find(
        {"buyer.email": exact}, {"shop_id": 1, "buyer.user_id": 1}, limit=MAX_ORDERS_SCANNED
    )
    shops_of: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        user_id = (doc.get("buyer") or {}).get("user_id")
        if user_id:
            shops_of[user_id].add(doc["shop_id"])
    expires_at = int((now + ttl).timestamp())
    for user_id, shops in sorted(shops_of.items()):
        link = BuyerLink(
            kind=LinkKind.SIGN_IN,
            buyer_user_id=user_id,
            shops=tuple(sorted(shops)),
            expires_at=expires_at,
        )
        url = link_url(base_url, sign_link(link, secret))
        minutes = int(ttl.total_seconds() // 60)
        outbox.send(
            email,
            "Your orders: sign-in link",
            f"Open your orders with this link (it works once, for {minutes} minutes):\n\n"
            f"{url}\n\nIf you did not ask for it, ignore this message.\n",
        )


async def exchange_link(
    uses: LinkUses,
    token: str,
    *,
    link_secret: str,
    jwt_secret: str,
    session_ttl: timedelta,
    now: datetime,
) -> BuyerSession:
    """Raises LinkRefused for a tampered, expired or already used link."""
    link = verify_link(token, link_secret, now)
    if link.kind == LinkKind.SIGN_IN:
        spent = await uses.spend(link.nonce, datetime.fromtimestamp(link.expires_at, UTC))
        if not spent:
            raise LinkRefused("link has already been used")
    # A session never outlives a seller's link: the seller chose how long it opens the orders.
    ends = now + session_ttl
    if link.kind == LinkKind.SELLER:
        ends = min(ends, datetime.fromtimestamp(link.expires_at, UTC))
    ttl = ends - now
    jwt_token = mint_token(
        sub=f"buyer:{link.buyer_user_id}",
        role=Role.BUYER,
        shops=link.shops,
        secret=jwt_secret,
        ttl=ttl,
        now=now,
        buyer_user_id=link.buyer_user_id,
    )
    return BuyerSession(jwt_token, ends.replace(microsecond=0), link.buyer_user_id, link.shops)
