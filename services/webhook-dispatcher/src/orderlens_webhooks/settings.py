"""webhook-dispatcher configuration, from environment variables with working local defaults."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr

from orderlens.settings import ServiceSettings
from orderlens.webhooks import LOCAL_DEV_SECRET_KEY, RetrySchedule

SERVICE = "webhook-dispatcher"


class DispatcherSettings(ServiceSettings):
    http_port: int = Field(default=8087, description="Port of /healthz, /readyz, /metrics.")
    webhook_group_id: str = Field(
        default="orderlens-webhook-dispatcher",
        description="Consumer group reading orders.created and orders.status-changed.",
    )
    replica_id: str = Field(
        default="",
        description="This replica's name in the subscription leases (the pod name); "
        "empty: host name, process id and a random suffix.",
    )
    webhook_retry_base_seconds: float = Field(
        default=5.0, gt=0, description="Wait after a delivery's first failed attempt."
    )
    webhook_retry_factor: float = Field(
        default=2.0, ge=1.0, description="Each further failed attempt multiplies the wait."
    )
    webhook_retry_cap_seconds: float = Field(
        default=3600.0, gt=0, description="Longest wait between two attempts (before jitter)."
    )
    webhook_retry_max_age_seconds: float = Field(
        default=86400.0,
        gt=0,
        description="A delivery still failing this long after its first attempt is parked.",
    )
    webhook_creation_wait_seconds: float = Field(
        default=120.0,
        ge=0,
        description="How long a status change of an order whose creation was not queued yet "
        "waits for it (decision 0225); then it goes without.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="HTTP timeout of one delivery attempt."
    )
    webhook_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Attempts in flight per subscription (each for a different order id).",
    )
    webhook_scan_limit: int = Field(
        default=500, ge=10, description="Pending deliveries a subscription's worker reads at once."
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often an idle subscription worker looks for work."
    )
    webhook_lease_seconds: float = Field(
        default=30.0, ge=1, description="How long a replica holds a subscription's queue."
    )
    webhook_secret_keys: SecretStr = Field(
        default=SecretStr(LOCAL_DEV_SECRET_KEY),
        description="Fernet keys sealing the subscription secrets, comma-separated, newest "
        "first; the same as query-api's (decision 0172). The default is for local use only.",
    )
    webhook_allow_http: bool = Field(
        default=False, description="Deliver to http:// URLs too (local development only)."
    )
    webhook_allow_internal: bool = Field(
        default=False,
        description="Deliver to loopback and private addresses (local development only).",
    )

    def retry_schedule(self) -> RetrySchedule:
        return RetrySchedule(
            base=timedelta(seconds=self.webhook_retry_base_seconds),
            factor=self.webhook_retry_factor,
            cap=timedelta(seconds=self.webhook_retry_cap_seconds),
            max_age=timedelta(seconds=self.webhook_retry_max_age_seconds),
        )
