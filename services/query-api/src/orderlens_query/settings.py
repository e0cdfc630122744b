"""query-api configuration, from environment variables with working local defaults."""

from __future__ import annotations

import hashlib
import secrets
from functools import cached_property

from pydantic import Field, SecretStr

from orderlens.settings import ServiceSettings
from orderlens.signed_links import BUYER_LANDING_PATH
from orderlens.tokens import LOCAL_DEV_SECRET, TrustedIssuer
from orderlens.webhooks import LOCAL_DEV_SECRET_KEY

_PROCESS_KEY = secrets.token_bytes(32)


class QueryApiSettings(ServiceSettings):
    http_port: int = Field(default=8000, description="Port of the HTTP API.")

    jwt_secret: str | None = Field(
        default=LOCAL_DEV_SECRET,
        description="HS256 secret (local use). Set it empty to accept public-key tokens only.",
    )
    jwt_jwks_url: str | None = Field(default=None, description="JWKS URL for RS256/ES256 tokens.")
    jwt_jwks_file: str | None = Field(default=None, description="JWKS file for RS256/ES256.")
    jwt_algorithms: str = Field(
        default="HS256,RS256,ES256", description="Accepted JWT algorithms, comma-separated."
    )
    jwt_audience: str | None = Field(default=None, description="Required `aud`, if any.")
    jwt_issuer: str | None = Field(default=None, description="Required `iss`, if any.")
    jwt_max_lifetime_hours: int = Field(
        default=24 * 31, ge=1, description="Longest accepted `exp - iat`; `iat` is required."
    )
    # The console signs its users' tokens with its own key and publishes it as a JWKS; query-api
    # trusts it beside the identity provider (docs/decisions/0150).
    jwt_trusted_issuers: tuple[TrustedIssuer, ...] = Field(
        default=(),
        description='Further issuers, as JSON: `[{"issuer", "jwks_url" or "jwks_file", '
        '"audience"?, "algorithms"?, "max_lifetime_seconds"?}]`; a token naming one in '
        "`iss` is verified with its keys only (e.g. the console's).",
    )

    max_page_size: int = Field(default=200, ge=1, le=200, description="Largest `limit`.")
    query_max_time_ms: int = Field(
        default=10_000, ge=100, description="Server-side time limit of each MongoDB query."
    )
    stats_max_days: int = Field(default=732, ge=1, description="Longest stats window, in days.")
    stats_max_orders: int = Field(
        default=300_000, ge=1, description="Most orders one stats answer reads."
    )
    idempotency_ttl_hours: int = Field(default=24, ge=1, description="Idempotency-Key lifetime.")
    api_docs: bool = Field(
        default=True, description="Serve /openapi.json (off in production; decision 0078)."
    )
    metrics_token: str | None = Field(
        default=None, description="When set, /metrics requires `Authorization: Bearer <it>`."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses whose X-Forwarded-* headers are trusted; "
        "empty: none.",
    )
    cursor_secret: str | None = Field(
        default=None,
        description="HMAC key of list cursors (decision 0072); every replica needs the same one. "
        "Unset: derived from `jwt_secret`, else random per process.",
    )

    @cached_property
    def cursor_key(self) -> bytes:
        if self.cursor_secret:
            return self.cursor_secret.encode()
        if self.jwt_secret:
            # A separate key from the token secret: a cursor never works as a token or back.
            return hashlib.sha256(b"orderlens-cursor\x00" + self.jwt_secret.encode()).digest()
        return _PROCESS_KEY

    # Buyer links and sign-in (docs/contract.md §5.1 buyer row; decision 0120).
    buyer_link_secret: str = Field(
        default="orderlens-local-buyer-link-secret-not-for-production",
        description="HMAC-SHA256 key of buyer links (seller-sent and one-time sign-in links).",
    )
    # CONSOLE_PUBLIC_URL, which the console reads too: buyer links open its landing page, so
    # one value configures both (decision 0182).
    console_public_url: str = Field(
        default="http://localhost:8084",
        description="The console's external URL; buyer links open its page "
        f"`{BUYER_LANDING_PATH}`.",
    )
    buyer_sign_in_ttl_minutes: int = Field(
        default=15, ge=1, le=1_440, description="Lifetime of a mailed one-time sign-in link."
    )
    buyer_session_ttl_hours: int = Field(
        default=8, ge=1, le=168, description="Lifetime of the buyer token a link is exchanged for."
    )
    mail_outbox_dir: str = Field(
        default=".orderlens/outbox",
        description="Directory where outgoing mail is written, one .eml file per message.",
    )
    mail_from: str = Field(default="orders@orderlens.local", description="Sender of buyer mail.")

    # Outgoing webhooks (docs/contract.md §3.7; decision 0171): which subscription URLs are allowed.
    webhook_secret_keys: SecretStr = Field(
        default=SecretStr(LOCAL_DEV_SECRET_KEY),
        description="Fernet keys sealing the subscription secrets, comma-separated, newest "
        "first; the same as the webhook dispatcher's (decision 0172). Local default only.",
    )
    webhook_allow_http: bool = Field(
        default=False, description="Accept http:// subscription URLs (local development only)."
    )
    webhook_allow_internal: bool = Field(
        default=False,
        description="Accept subscription URLs on loopback and private addresses (dev only).",
    )

    @property
    def buyer_link_base_url(self) -> str:
        return self.console_public_url.rstrip("/") + BUYER_LANDING_PATH

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.jwt_algorithms.split(",") if a.strip())
