"""The Kafka side of order-ingest: the broker and the one batch consumer of both topics."""

from __future__ import annotations

import logging
from collections.abc import Callable

from faststream.kafka import KafkaBroker

from orderlens.consumer import BatchConsumer, BatchConsumerConfig, BatchFunction
from orderlens.kafka import make_broker
from orderlens_ingest.settings import IngestSettings

SERVICE = "order-ingest"


def broker(settings: IngestSettings) -> KafkaBroker:
    made: KafkaBroker = make_broker(
        settings.kafka_bootstrap_servers,
        client_id=f"orderlens-{SERVICE}",
        # Through the root handler (JSON lines); per-batch access lines at DEBUG.
        logger=logging.getLogger("orderlens_ingest.faststream"),
        log_level=logging.DEBUG,
    )
    return made


def batch_consumer(
    settings: IngestSettings, handler: BatchFunction, between_batches: Callable[[], None]
) -> BatchConsumer:
    """One subscriber for both topics, co-partitioned: all events of an order are handled by
    one consumer, one batch at a time; the versioned writes catch a consumer left over from a
    rebalance (docs/decisions/0034, 0086, 0140)."""
    return BatchConsumer(
        BatchConsumerConfig.order_events(
            settings,
            service=SERVICE,
            group_id=settings.ingest_group_id,
            max_records=settings.ingest_max_records,
            batch_timeout_ms=settings.ingest_batch_timeout_ms,
            max_poll_interval_ms=settings.ingest_max_poll_interval_ms,
            session_timeout_ms=settings.ingest_session_timeout_ms,
            heartbeat_interval_ms=settings.ingest_heartbeat_interval_ms,
        ),
        handler,
        between_batches,
    )
