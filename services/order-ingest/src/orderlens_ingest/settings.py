"""order-ingest's configuration, from environment variables (names in upper case)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from orderlens.domain.money import to_minor
from orderlens.settings import ServiceSettings
from orderlens_ingest.domain.risk import DEFAULT_COD_THRESHOLDS, RiskRules


class IngestSettings(ServiceSettings):
    http_port: int = Field(default=8081, description="Port of /healthz, /readyz, /metrics.")
    ingest_group_id: str = Field(
        default="orderlens-order-ingest", description="Kafka consumer group."
    )
    ingest_max_records: int = Field(
        default=2000,
        ge=1,
        description="Records per batch, at most (a batch's reads and writes are a few bulk "
        "commands: larger batches share them, docs/decisions/0037).",
    )
    ingest_batch_timeout_ms: int = Field(
        default=200, ge=1, description="How long a batch waits to fill up."
    )
    ingest_max_poll_interval_ms: int = Field(
        default=600_000,
        description="Kafka max.poll.interval.ms: above the worst batch time (retries included).",
    )
    ingest_session_timeout_ms: int = Field(
        default=30_000,
        description="Kafka session timeout: how long a dead replica holds its partitions.",
    )
    ingest_heartbeat_interval_ms: int = Field(
        default=3_000, description="Kafka heartbeat interval (a third of the session timeout)."
    )
    ingest_known_orders: int = Field(
        default=5_000,
        ge=0,
        description="Stored orders kept in memory across batches instead of read again "
        "(about 20 KiB each with a few status changes; docs/decisions/0196).",
    )
    ingest_drain_seconds: float = Field(
        default=30.0, description="On SIGTERM, how long the batch in flight may take to finish."
    )
    mongodb_timeout_ms: int = Field(
        default=5_000, description="Server selection and connect timeout of the MongoDB client."
    )
    risk_cod_thresholds: dict[str, str] = Field(
        default_factory=dict,
        description='COD ceilings per currency, in major units, e.g. {"USD": "200"} '
        "(merged over the built-in defaults).",
    )
    risk_bulk_quantity: int = Field(default=10, ge=2, description="Units of one SKU that flag.")
    risk_shared_address_buyers: int = Field(
        default=3, ge=2, description="Distinct buyers at one address that flag."
    )
    risk_shared_address_hours: float = Field(
        default=24.0, gt=0, description="Window of the shared-address rule, in hours."
    )

    def risk_rules(self) -> RiskRules:
        thresholds = dict(DEFAULT_COD_THRESHOLDS)
        for currency, amount in self.risk_cod_thresholds.items():
            thresholds[currency.upper()] = to_minor(amount, currency.upper())
        return RiskRules(
            cod_thresholds=thresholds,
            bulk_quantity=self.risk_bulk_quantity,
            shared_address_buyers=self.risk_shared_address_buyers,
            shared_address_window=timedelta(hours=self.risk_shared_address_hours),
        )
