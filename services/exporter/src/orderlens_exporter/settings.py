"""Exporter configuration, from environment variables with working local defaults."""

from __future__ import annotations

from pydantic import Field

from orderlens.settings import ServiceSettings

SERVICE = "exporter"
CONSUMER_GROUP = "orderlens-exporter"
EVENT_SOURCE = "orderlens/exporter"


class ExporterSettings(ServiceSettings):
    http_port: int = Field(default=8083, description="Port of /healthz, /readyz, /metrics.")

    export_group_id: str = Field(
        default=CONSUMER_GROUP, description="Kafka consumer group of the export requests."
    )
    export_max_running_per_shop: int = Field(
        default=2, ge=1, le=50, description="Exports running at once per shop; more wait queued."
    )
    export_workers: int = Field(
        default=2, ge=1, le=32, description="Exports this process runs at once."
    )
    export_retention_hours: float = Field(
        default=72, gt=0, description="Hours a finished export's file is kept."
    )
    export_lease_seconds: float = Field(
        default=60,
        ge=5,
        description="A running export whose worker stops renewing its lease this long is "
        "claimed again by another worker.",
    )
    export_progress_seconds: float = Field(
        default=1.0, gt=0, le=30, description="How often a running export reports its progress."
    )
    export_max_attempts: int = Field(
        default=5, ge=1, le=20, description="Claims of one export before it is marked failed."
    )
    export_retry_delay_seconds: float = Field(
        default=10,
        ge=0,
        description="Wait before a failed attempt runs again; doubled after each attempt "
        "(at most 5 minutes).",
    )
    export_batch_size: int = Field(
        default=500,
        ge=10,
        le=10_000,
        description="Orders read and written per batch (MongoDB replies hold fewer where "
        "orders may be large: decision 0220).",
    )
    export_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often queued exports are looked for without an event."
    )
    export_sweep_seconds: float = Field(
        default=30.0, gt=0, description="How often expired files and stale jobs are swept."
    )
    export_sort_by_id: bool = Field(
        default=False,
        description="Write rows in order id order. Off by default: the local mongo-java-server "
        "sorts a whole result in memory; on MongoDB it streams from the _id index.",
    )
    export_rows_per_sheet: int = Field(
        default=1_048_575, ge=1, le=1_048_575, description="Data rows per XLSX sheet."
    )
