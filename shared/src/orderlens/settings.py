"""Configuration from environment variables, with working local defaults (docs/contract.md §2).

Each service has one settings class, a subclass of `ServiceSettings` below.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderlens import topics


class ServiceSettings(BaseSettings):
    """Settings every service reads: Kafka, topics, MongoDB, HTTP, logging."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        default="localhost:9092", description="Kafka bootstrap servers, comma-separated."
    )
    mongodb_uri: str = Field(default="mongodb://localhost:27017", description="MongoDB URI.")
    mongodb_database: str = Field(default="orderlens", description="MongoDB database name.")

    topic_orders_created: str = Field(default=topics.ORDERS_CREATED, description="Topic name.")
    topic_status_changed: str = Field(default=topics.STATUS_CHANGED, description="Topic name.")
    topic_export_requested: str = Field(default=topics.EXPORT_REQUESTED, description="Topic name.")
    topic_export_completed: str = Field(default=topics.EXPORT_COMPLETED, description="Topic name.")
    topic_dead_letter: str = Field(default=topics.DEAD_LETTER, description="Topic name.")

    # Shared like the topic names: the exporter writes export files here, query-api serves them.
    export_dir: Path = Field(
        default=Path(".orderlens/exports"),
        description="Directory of the export files (written by the exporter, served by query-api).",
    )

    http_host: str = Field(default="0.0.0.0", description="Address of the HTTP server.")
    http_port: int = Field(default=8080, description="Port of /healthz, /readyz, /metrics.")
    log_level: str = Field(default="INFO", description="Python logging level.")
    log_json: bool = Field(default=True, description="Log one JSON object per line.")
