"""One comparison for secrets presented by a caller: signatures, cursors, CSRF values, states.

`hmac.compare_digest` refuses a `str` with a non-ASCII character (TypeError), so a forged value
with one answered 500 instead of being refused (schemathesis: `GET /v1/inbox?cursor=…`). This
compares the UTF-8 bytes of text, in constant time, whatever the caller sent."""

from __future__ import annotations

import hmac


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


def same_secret(presented: str | bytes, expected: str | bytes) -> bool:
    """Whether two secrets are equal, in time independent of where they differ."""
    return hmac.compare_digest(_bytes(presented), _bytes(expected))
