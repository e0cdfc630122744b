"""console configuration, from environment variables (prefix `CONSOLE_`) with local defaults."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderlens.filters import parse_tz


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONSOLE_", extra="ignore", frozen=True, populate_by_name=True
    )

    http_host: str = Field(default="0.0.0.0", description="Address of the HTTP server.")
    # Also the unprefixed HTTP_PORT / LOG_LEVEL every image and probe uses
    # (deploy/docker/Dockerfile, healthcheck.py).
    http_port: int = Field(
        default=8084,
        validation_alias=AliasChoices("CONSOLE_HTTP_PORT", "HTTP_PORT"),
        description="Port of the console (pages, /healthz, /readyz, /metrics).",
    )
    public_url: str = Field(
        default="http://localhost:8084",
        description="The console's external URL (OIDC redirect URI base; Secure cookies unless "
        "it is localhost).",
    )
    query_api_url: str = Field(default="http://localhost:8000", description="query-api base URL.")
    session_secret: str = Field(
        default="orderlens-console-local-session-secret-not-for-production",
        min_length=16,
        description="Key signing the session cookie.",
    )
    session_max_age_seconds: int = Field(
        default=8 * 3600, ge=60, description="Lifetime of a session cookie."
    )
    # The console signs its users' query-api tokens with its own key and publishes the public
    # half at /.well-known/jwks.json; query-api trusts it as an issuer (docs/decisions/0150).
    api_signing_key: SecretStr | None = Field(
        default=None,
        description="PEM private key (EC P-256 → ES256, or RSA ≥ 2048 bits → RS256) signing the "
        "query-api tokens of signed-in users; every replica needs the same. Unset: a key per "
        "process (one local console only).",
    )
    api_previous_public_key: str | None = Field(
        default=None,
        description="PEM key still published in the JWKS during a rotation (the former key).",
    )
    api_token_issuer: str | None = Field(
        default=None,
        description="`iss` of the console's tokens (query-api's trusted issuer); unset: "
        "`public_url`.",
    )
    api_token_audience: str | None = Field(
        default="orderlens-query-api", description="`aud` of the console's tokens."
    )
    time_zone: str = Field(
        default="UTC",
        description="IANA time zone the pages show times and read dates in, unless the user "
        "chooses another (the shop's zone).",
    )

    dev_sign_in: bool = Field(
        default=False, description="Offer the demo users' sign-in (local development only)."
    )
    dev_shops: str = Field(default="", description="Shop ids of the demo users, comma-separated.")

    oidc_issuer: str | None = Field(default=None, description="OIDC issuer URL (enables OIDC).")
    oidc_client_id: str | None = Field(default=None, description="OIDC client id.")
    oidc_client_secret: str | None = Field(
        default=None, description="OIDC client secret (unset for a public client with PKCE)."
    )
    oidc_scopes: str = Field(default="openid email profile", description="OIDC scopes requested.")
    oidc_role_claim: str = Field(default="orderlens_role", description="ID token claim: role.")
    oidc_shops_claim: str = Field(default="orderlens_shops", description="ID token claim: shops.")
    oidc_subject_claim: str = Field(default="sub", description="ID token claim: user id.")
    buyer_stalled_hours: int = Field(
        default=72,
        ge=1,
        le=24 * 366,
        description="A buyer's parcel on its way with no checkpoint for this long is shown as "
        "stalled (docs/contract.md §4.4).",
    )
    log_level: str = Field(
        default="INFO",
        validation_alias=AliasChoices("CONSOLE_LOG_LEVEL", "LOG_LEVEL"),
        description="Python logging level.",
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        parse_tz(value)
        return value

    @property
    def token_issuer(self) -> str:
        return self.api_token_issuer or self.public_url.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        host = self.public_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        return host not in {"localhost", "127.0.0.1", "::1"}

    @property
    def shops(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.dev_shops.split(",") if s.strip())
