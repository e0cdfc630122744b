"""TikTok Shop request and webhook signatures (docs/decisions/0090-tiktok-signing.md).

One definition for both sides: the connector signs its requests with it and verifies webhooks,
the simulator checks requests and signs the webhooks it pushes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from orderlens.constant_time import same_secret

# Never signed: `sign` is the result, the access token travels in a header (`x-tts-access-token`).
UNSIGNED_PARAMETERS = frozenset({"sign", "access_token"})


def request_sign(
    app_secret: str,
    path: str,
    query: Mapping[str, str],
    body: bytes = b"",
    content_type: str = "application/json",
) -> str:
    """HMAC-SHA256 (key: app secret) of secret + path + sorted `key value` pairs + body + secret.

    The body is signed byte for byte as sent, except for multipart uploads, which TikTok leaves out.
    """
    pairs = "".join(f"{key}{query[key]}" for key in sorted(query) if key not in UNSIGNED_PARAMETERS)
    signed_body = b"" if content_type.startswith("multipart/form-data") else body
    message = (
        app_secret.encode() + path.encode() + pairs.encode() + signed_body + app_secret.encode()
    )
    return hmac.new(app_secret.encode(), message, hashlib.sha256).hexdigest()


def request_sign_matches(
    app_secret: str,
    path: str,
    query: Mapping[str, str],
    body: bytes,
    content_type: str,
) -> bool:
    given = query.get("sign", "")
    expected = request_sign(app_secret, path, query, body, content_type)
    return same_secret(given, expected)


def webhook_signature(app_key: str, app_secret: str, raw_body: bytes) -> str:
    """A webhook's `Authorization` header: HMAC-SHA256 (key: app secret) of app key + raw body."""
    return hmac.new(app_secret.encode(), app_key.encode() + raw_body, hashlib.sha256).hexdigest()


def webhook_signature_matches(
    app_key: str, app_secret: str, raw_body: bytes, header: str | None
) -> bool:
    """Constant-time check on the raw bytes, before anything parses them."""
    if not header:
        return False
    expected = webhook_signature(app_key, app_secret, raw_body)
    return same_secret(header.strip().lower(), expected)
