"""Signatures of outgoing webhooks (docs/contract.md §3.1; decision 0121).

Header `Orderlens-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; the
timestamp in the signed text lets a receiver refuse old replays. `Orderlens-Event-Id` carries the
CloudEvent id for deduplication (deliveries are at least once).

API: `sign(secret, body, timestamp) -> str` (the header value);
`verify(secret, body, header, now, tolerance=300) -> bool` (constant-time).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Orderlens-Signature"
EVENT_ID_HEADER = "Orderlens-Event-Id"


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_mac(secret, body, timestamp)}"


def verify(secret: str, body: bytes, header: str, now: int, tolerance: int = 300) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), _mac(secret, body, timestamp))
