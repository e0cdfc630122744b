"""Configuration of the status-tracker, from environment variables (docs/configuration.md)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from orderlens.domain.status import TrackingStatus
from orderlens.settings import ServiceSettings

SERVICE = "status-tracker"
HOUR = 3600.0


class Provider(StrEnum):
    SIMULATOR = "simulator"
    SEVENTEEN_TRACK = "17track"
    AFTERSHIP = "aftership"


# Published limits: 17TRACK 3 requests/s per key; AfterShip GET /trackings 6 requests/s
# (per-endpoint limits since API 2024-07). The simulator's default is 50/s.
DEFAULT_RATE_LIMITS: dict[Provider, float] = {
    Provider.SIMULATOR: 50.0,
    Provider.SEVENTEEN_TRACK: 3.0,
    Provider.AFTERSHIP: 6.0,
}

DEFAULT_CADENCE_SECONDS: dict[TrackingStatus, float] = {
    TrackingStatus.PENDING: 4 * HOUR,
    TrackingStatus.INFO_RECEIVED: 4 * HOUR,
    TrackingStatus.IN_TRANSIT: 3 * HOUR,
    TrackingStatus.OUT_FOR_DELIVERY: 0.5 * HOUR,
    TrackingStatus.AVAILABLE_FOR_PICKUP: 6 * HOUR,
    TrackingStatus.FAILED_ATTEMPT: 2 * HOUR,
    TrackingStatus.EXCEPTION: 2 * HOUR,
}


class TrackerSettings(ServiceSettings):
    http_port: int = Field(default=8082, description="Port of /healthz, /readyz, /metrics.")

    consumer_group: str = Field(
        default="orderlens-status-tracker", description="Kafka consumer group of the tracker."
    )
    carrier_provider: Provider = Field(
        default=Provider.SIMULATOR, description="simulator, 17track or aftership."
    )
    carrier_simulator_url: str = Field(
        default="http://localhost:8090", description="Base URL of the carrier simulator."
    )
    carrier_simulator_batch: int = Field(
        default=40, ge=1, le=40, description="Tracking numbers per simulator request."
    )
    seventeentrack_api_key: str = Field(default="", description="17TRACK API key (17token).")
    seventeentrack_url: str = Field(
        default="https://api.17track.net/track/v2.4", description="17TRACK API base URL."
    )
    aftership_api_key: str = Field(default="", description="AfterShip API key (as-api-key).")
    aftership_url: str = Field(
        default="https://api.aftership.com/tracking/2026-07",
        description="AfterShip Tracking API base URL (with its version).",
    )

    carrier_rate_limit: float | None = Field(
        default=None,
        gt=0,
        description="Requests per second for the whole provider account, shared by all "
        "replicas (default: the provider's published limit).",
    )
    carrier_rate_burst: float = Field(
        default=2.0,
        ge=1,
        description="Token-bucket size of each replica: above 1 so that a late wake-up does not "
        "lose its token.",
    )
    carrier_concurrency: int = Field(
        default=8, ge=1, description="Carrier requests in flight at once per replica."
    )
    carrier_timeout_seconds: float = Field(default=10.0, gt=0, description="Per request.")
    carrier_max_attempts: int = Field(
        default=3, ge=1, description="Attempts per request (429s and 5xx retried)."
    )
    carrier_backoff_base_seconds: float = Field(
        default=0.5, gt=0, description="Backoff before retry n: U(0, min(cap, base x 2^n))."
    )
    carrier_backoff_cap_seconds: float = Field(
        default=8.0,
        gt=0,
        description="Longest backoff; a Retry-After above it ends the poll (retried later).",
    )
    breaker_failure_threshold: int = Field(
        default=5, ge=1, description="Consecutive failures that open the breaker."
    )
    breaker_reset_seconds: float = Field(
        default=30.0, gt=0, description="How long the breaker stays open before a trial."
    )

    cadence_seconds: dict[TrackingStatus, float] = Field(
        default_factory=lambda: dict(DEFAULT_CADENCE_SECONDS),
        description='Poll interval by tracking status, JSON, e.g. {"IN_TRANSIT": 7200}; the '
        "statuses not given keep their default; DELIVERED, RETURNED_TO_SENDER, EXPIRED stop.",
    )
    cadence_scale: float = Field(
        default=1.0, gt=0, description="Multiplies every cadence (demos and tests)."
    )
    retry_delay_seconds: float = Field(
        default=60.0, gt=0, description="First delay before a job whose poll failed is retried."
    )

    shards: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="Job shards leased by replicas (fixed per deployment).",
    )
    lease_seconds: float = Field(
        default=90.0, gt=0, description="A replica's shard lease; a crashed one's expire then."
    )
    refresh_seconds: float = Field(
        default=5.0, gt=0, description="How often a replica loads new or changed jobs."
    )
    idle_seconds: float = Field(
        default=1.0, gt=0, description="Longest sleep of a poll worker with nothing due."
    )
    overdue_seconds: float = Field(
        default=900.0, gt=0, description="A job due this long ago counts as overdue."
    )
    replica_id: str | None = Field(
        default=None, description="Name of this replica in the lease records (default: random)."
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_poll(self) -> TrackerSettings:
        # A poll starts only with a poll budget of lease left, and leases renew every third.
        if self.poll_budget() * 1.5 >= self.lease_seconds:
            raise ValueError(
                f"lease_seconds ({self.lease_seconds}) must exceed 1.5 x the longest poll "
                f"({self.poll_budget():.1f}s = carrier_max_attempts x (carrier_timeout_seconds"
                " + carrier_backoff_cap_seconds))"
            )
        return self

    def rate_limit(self) -> float:
        return self.carrier_rate_limit or DEFAULT_RATE_LIMITS[self.carrier_provider]

    def cadence(self, status: TrackingStatus) -> float:
        base = self.cadence_seconds.get(status, DEFAULT_CADENCE_SECONDS.get(status, HOUR))
        return base * self.cadence_scale

    def poll_budget(self) -> float:
        """The longest one poll may take, retries included: it must end inside the lease."""
        return self.carrier_max_attempts * (
            self.carrier_timeout_seconds + self.carrier_backoff_cap_seconds
        )
