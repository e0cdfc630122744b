"""notifier configuration, from environment variables with working local defaults."""

from __future__ import annotations

from pydantic import Field

from orderlens.settings import ServiceSettings

SERVICE = "notifier"


class NotifierSettings(ServiceSettings):
    http_port: int = Field(default=8086, description="Port of /healthz, /readyz, /metrics.")
    notifier_group_id: str = Field(
        default="orderlens-notifier",
        description="Consumer group reading orders.created and orders.status-changed.",
    )
    notifier_exports_group_id: str = Field(
        default="orderlens-notifier-exports",
        description="Consumer group reading orders.export-completed.",
    )
    notifier_batch_timeout_ms: int = Field(
        default=200, ge=1, description="Longest wait for a batch of events to fill."
    )
    mail_outbox_dir: str = Field(
        default=".orderlens/outbox",
        description="Directory where outgoing mail is written, one .eml file per message "
        "(the same outbox as query-api's).",
    )
    mail_from: str = Field(default="orders@orderlens.local", description="Sender of buyer mail.")
    buyer_pages_url: str = Field(
        default="http://localhost:8084/buyer",
        description="Base URL of the console's buyer pages; a mail links to `<it>/orders/<id>`.",
    )
    new_order_within_hours: int = Field(
        default=48,
        ge=1,
        description="A snapshot is a new order for the inbox only when the order was created "
        "this recently (a backfill of old orders is not news).",
    )
    stalled_hours: int = Field(
        default=72,
        ge=1,
        le=8_784,
        description="Hours without a checkpoint that make a parcel "
        "stalled (the `stalled_hours` filter of GET /v1/orders).",
    )
    stalled_sweep_seconds: float = Field(
        default=600.0, gt=0, description="How often stalled parcels are looked for."
    )
    stalled_sweep_limit: int = Field(
        default=1_000, ge=1, description="Most stalled orders one sweep posts, per shop."
    )
