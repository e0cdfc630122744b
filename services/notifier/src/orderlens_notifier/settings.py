"""Notifier configuration, from environment variables with working local defaults."""

from __future__ import annotations

from pydantic import Field

from orderlens.settings import ServiceSettings

SERVICE = "notifier"
CONSUMER_GROUP = "orderlens-notifier"


class NotifierSettings(ServiceSettings):
    http_port: int = Field(default=8086, description="Port of /healthz, /readyz, /metrics.")
    notifier_group_id: str = Field(
        default=CONSUMER_GROUP, description="Kafka consumer group of the order events."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="Time limit of one webhook delivery."
    )
    webhook_retry_base_seconds: float = Field(
        default=5.0, gt=0, description="First retry delay; doubles per failed attempt."
    )
    webhook_retry_cap_seconds: float = Field(
        default=3_600.0, gt=0, description="Longest delay between two attempts."
    )
    webhook_max_age_seconds: float = Field(
        default=86_400.0, gt=0, description="A delivery failing this long is parked as failed."
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often idle workers look for due deliveries."
    )
