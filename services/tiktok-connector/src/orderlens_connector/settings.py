"""tiktok-connector configuration, from environment variables with working local defaults."""

from __future__ import annotations

from pydantic import Field, SecretStr

from orderlens.settings import ServiceSettings

SERVICE = "tiktok-connector"
EVENT_SOURCE = "orderlens/tiktok-connector"


class ConnectorSettings(ServiceSettings):
    http_port: int = Field(default=8085, description="Port of the webhooks, OAuth and health.")

    tiktok_app_key: str = Field(default="orderlens-dev", description="TikTok Shop app key.")
    tiktok_app_secret: SecretStr = Field(
        default=SecretStr("orderlens-dev-secret"), description="TikTok Shop app secret."
    )
    tiktok_api_base_url: str = Field(
        default="https://open-api.tiktokglobalshop.com", description="Open API base URL."
    )
    tiktok_auth_base_url: str = Field(
        default="https://auth.tiktok-shops.com", description="Authorization (token) base URL."
    )
    tiktok_app_rate: float = Field(
        default=40.0, gt=0, description="Requests a second this app sends, across all shops."
    )
    tiktok_shop_rate: float = Field(
        default=10.0, gt=0, description="Requests a second this app sends to one shop."
    )
    tiktok_max_throttle_retries: int = Field(
        default=6, ge=0, le=20, description="Throttled or failed attempts before a call gives up."
    )
    tiktok_timeout_seconds: float = Field(default=10.0, gt=0, description="HTTP timeout.")

    topic_tiktok_notifications: str = Field(
        default="tiktok.notifications",
        description="Topic the verified webhooks are written to before they are answered.",
    )
    webhook_max_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest webhook body accepted."
    )
    tiktok_token_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Fernet keys encrypting stored shop tokens, comma-separated, newest first "
        "(docs/decisions/0094). Required.",
    )

    tiktok_authorize_url: str = Field(
        default="https://services.tiktokshop.com/open/authorize",
        description="TikTok Shop's seller consent page the authorize link redirects to.",
    )
    oauth_redirect_url: str = Field(
        default="http://localhost:8085/oauth/tiktok/callback",
        description="This connector's public callback URL, registered with the TikTok app.",
    )
    oauth_state_ttl_seconds: int = Field(
        default=600, ge=30, description="How long an authorize link's state stays valid."
    )
    backfill_window_days: int = Field(
        default=90, ge=1, le=365, description="How far back a newly connected shop is fetched."
    )
    reconcile_seconds: float = Field(
        default=300.0, gt=0, description="Interval between reconcile windows after the backfill."
    )
    reconcile_overlap_seconds: int = Field(
        default=600, ge=0, description="How far each reconcile window reaches before the last one."
    )
    sync_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the sync worker looks for shops that are due."
    )
    actions_group_id: str = Field(
        default="orderlens-tiktok-connector-actions",
        description="Consumer group reading seller actions from orders.status-changed.",
    )
