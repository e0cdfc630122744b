"""Outgoing webhooks (docs/contract.md §3.7): what query-api and the webhook dispatcher share.

- The collections: `webhook_subscriptions` (written by query-api), `webhook_deliveries` (the
  per-subscription outbox, written by the dispatcher; query-api only moves parked deliveries
  back to pending, `replay_parked`), and the dispatcher's leases, sequences and order starts.
- Secrets: `new_secret()` (`whsec_` + base64 of 32 random bytes, as Standard Webhooks), shown
  to the admin once; `secret_hint()` is all that is ever shown again. At rest a secret is a
  Fernet token (`SecretBox`, keys `WEBHOOK_SECRET_KEYS`, newest first; decision 0172): only the
  dispatcher opens it, to sign, so neither a database dump nor the driver's debug log shows it.
- Signing: `sign()` / `signature_headers()` / `verify()` — HMAC-SHA256 over
  `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed by the secret's decoded bytes (the
  Standard Webhooks scheme, decision 0173).
- URLs: `check_url()` — https only, no credentials, no loopback/private/link-local address,
  unless a deployment allows them (local development).
- The retry schedule: `RetrySchedule` — exponential, jittered, parked after `max_age`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.constant_time import same_secret
from orderlens.events import EventType
from orderlens.mongo import Document

SUBSCRIPTIONS = "webhook_subscriptions"
DELIVERIES = "webhook_deliveries"
LEASES = "webhook_leases"
SEQUENCES = "webhook_sequences"
#: Per subscription and order id: was the order's creation queued, and until when do its status
#: changes wait for it (decision 0225).
ORDER_STARTS = "webhook_order_starts"

#: The event types a subscription may ask for: the order events of docs/contract.md §3.3–3.4.
EVENT_TYPES: tuple[EventType, ...] = (EventType.ORDER_CREATED, EventType.STATUS_CHANGED)

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class Subscription:
    """The stored subscription (`webhook_subscriptions`); query-api's views derive from it."""

    id: str
    shop_id: str
    url: str
    event_types: tuple[EventType, ...]
    secret_cipher: str = field(repr=False)
    secret_hint: str
    active: bool
    description: str
    created_at: datetime
    updated_at: datetime
    created_by: str

    def wants(self, event_type: EventType) -> bool:
        return self.active and event_type in self.event_types

    def document(self) -> Document:
        return {
            "_id": self.id,
            "shop_id": self.shop_id,
            "url": self.url,
            "event_types": [t.value for t in self.event_types],
            "secret_cipher": self.secret_cipher,
            "secret_hint": self.secret_hint,
            "active": self.active,
            "description": self.description,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "created_by": self.created_by,
        }

    @classmethod
    def from_document(cls, doc: Document) -> Subscription:
        return cls(
            id=str(doc["_id"]),
            shop_id=str(doc["shop_id"]),
            url=str(doc["url"]),
            event_types=tuple(EventType(t) for t in doc.get("event_types", [])),
            secret_cipher=str(doc["secret_cipher"]),
            secret_hint=str(doc.get("secret_hint") or ""),
            active=bool(doc.get("active", True)),
            description=str(doc.get("description") or ""),
            created_at=doc["created_at"],
            updated_at=doc.get("updated_at") or doc["created_at"],
            created_by=str(doc.get("created_by") or ""),
        )


def new_subscription_id() -> str:
    return f"whs_{secrets.token_hex(12)}"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    PARKED = "parked"


# -- secrets and signatures -------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


#: The local development key (compose, tests); every real deployment sets its own.
LOCAL_DEV_SECRET_KEY = "b3JkZXJsZW5zLWxvY2FsLXdlYmhvb2tzLWtleS0zMmI="


class SecretBox:
    """Subscription secrets at rest: sealed with the first of `keys` (comma-separated Fernet
    keys, newest first), opened with any of them, so a key is rotated by prepending a new one."""

    def __init__(self, keys: str) -> None:
        ring = [Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()]
        if not ring:
            raise ValueError("WEBHOOK_SECRET_KEYS holds no key")
        self._fernet = MultiFernet(ring)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, cipher: str) -> str:
        try:
            return self._fernet.decrypt(cipher.encode()).decode()
        except InvalidToken:
            raise ValueError("a subscription secret sealed with an unknown key") from None


def secret_hint(secret: str) -> str:
    """What may be shown of a secret after its creation: the prefix and its last 4 characters."""
    return f"{SECRET_PREFIX}…{secret[-4:]}"


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_headers(secret: str, message_id: str, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        "content-type": CONTENT_TYPE,
        HEADER_ID: message_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: sign(secret, message_id, timestamp, body),
    }


class SignatureInvalid(ValueError):
    pass


def verify(
    secrets_: Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> str:
    """A receiver's check (also the contract's example): answers the message id, else raises.
    `secrets_` may hold a rotated-out secret too; the header may carry several signatures."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id = lowered.get(HEADER_ID)
    stamp = lowered.get(HEADER_TIMESTAMP, "")
    presented = lowered.get(HEADER_SIGNATURE, "").split()
    if not message_id or not stamp.isdigit() or not presented:
        raise SignatureInvalid("missing webhook headers")
    if abs(now.timestamp() - int(stamp)) > tolerance.total_seconds():
        raise SignatureInvalid("timestamp outside the tolerance")
    for secret in secrets_:
        expected = sign(secret, message_id, int(stamp), body)
        if any(same_secret(p, expected) for p in presented):
            return message_id
    raise SignatureInvalid("no valid signature")


# -- URLs -------------------------------------------------------------------------------------


class UrlRefused(ValueError):
    pass


_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


def internal_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str, *, allow_http: bool = False, allow_internal: bool = False) -> str:
    """The URL as given when a subscription may deliver to it, else UrlRefused with the reason.
    Names are checked as written; the dispatcher checks the addresses they resolve to."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UrlRefused(f"not a URL ({exc})") from None
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed:
        raise UrlRefused("must be an https URL" if not allow_http else "must be http(s)")
    if parts.username or parts.password:
        raise UrlRefused("must not carry credentials")
    if parts.fragment:
        raise UrlRefused("must not have a fragment")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("has no host")
    if allow_internal:
        return url
    try:
        internal = internal_address(host)
    except ValueError:
        internal = host == "localhost" or host.endswith(_INTERNAL_SUFFIXES) or "." not in host
    if internal:
        raise UrlRefused("must not point at an internal address")
    return url


# -- the retry schedule -----------------------------------------------------------------------


@dataclass(frozen=True)
class RetrySchedule:
    """Attempt n (1-based) failed → wait `min(cap, base * factor**(n-1))`, jittered to 50–100 %
    of it; a delivery still failing `max_age` after its first attempt is parked."""

    base: timedelta = timedelta(seconds=5)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)
    max_age: timedelta = timedelta(hours=24)

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        raw = min(
            self.cap.total_seconds(),
            self.base.total_seconds() * self.factor ** min(attempts - 1, 60),
        )
        return timedelta(seconds=raw * (rng or random).uniform(0.5, 1.0))

    def expired(self, first_attempt_at: datetime, now: datetime) -> bool:
        return now - first_attempt_at >= self.max_age


# -- replay (query-api's admin call and the dispatcher's CLI) ----------------------------------


async def replay_parked(
    db: AsyncDatabase[Document],
    subscription_id: str,
    now: datetime,
    delivery_ids: Sequence[str] | None = None,
) -> int:
    """Move parked deliveries back to pending, due now, with a fresh retry window; answer how
    many. They keep their sequence numbers, so they go out in their original order; replaying
    some replays the parked ones of their orders before them too (an order's events go in their
    order, decision 0225)."""
    query: dict[str, Any] = {"subscription_id": subscription_id, "state": DeliveryState.PARKED}
    if delivery_ids is not None:
        last: dict[str, int] = {}
        cursor = db[DELIVERIES].find(
            {**query, "_id": {"$in": list(delivery_ids)}}, {"order_id": 1, "seq": 1}
        )
        async for doc in cursor:
            order_id, seq = str(doc["order_id"]), int(doc["seq"])
            last[order_id] = max(seq, last.get(order_id, seq))
        if not last:
            return 0
        query["$or"] = [{"order_id": o, "seq": {"$lte": seq}} for o, seq in sorted(last.items())]
    result = await db[DELIVERIES].update_many(
        query,
        {
            "$set": {
                "state": DeliveryState.PENDING.value,
                "next_attempt_at": now,
                "first_attempt_at": None,
                "replayed_at": now,
            },
            "$inc": {"replays": 1},
        },
    )
    return int(result.modified_count)
