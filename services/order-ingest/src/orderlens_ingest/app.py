"""Wiring: the MongoDB client, the two batch consumers, the health server, and their lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from orderlens.consumer import (
    BatchConsumer,
    BatchConsumerConfig,
    BatchFunction,
    Outcome,
    Received,
    is_transient,
)
from orderlens.events import EventType
from orderlens.health import HealthServer, kafka_ready
from orderlens.indexes import ensure_indexes
from orderlens.kafka import make_broker
from orderlens.mongo import database, make_client, ping
from orderlens_ingest.service import Ingest
from orderlens_ingest.settings import IngestSettings
from orderlens_ingest.store import OrderStore

SERVICE = "order-ingest"
log = logging.getLogger("orderlens_ingest")


class IngestApp:
    """order-ingest in one object: `await start()`, then `await stop()` (drains and commits)."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.client = make_client(
            settings.mongodb_uri, app_name=SERVICE, timeout_ms=settings.mongodb_timeout_ms
        )
        self.db = database(self.client, settings.mongodb_database)
        self.ingest = Ingest(OrderStore(self.db), settings.risk_rules())
        self.broker = make_broker(
            settings.kafka_bootstrap_servers,
            client_id=f"orderlens-{SERVICE}",
            log_level=logging.DEBUG,
        )
        self.consumers = [
            self._consumer(settings.topic_orders_created, EventType.ORDER_CREATED, self._created),
            self._consumer(settings.topic_status_changed, EventType.STATUS_CHANGED, self._status),
        ]
        for consumer in self.consumers:
            consumer.attach(self.broker)
        self.health = HealthServer(
            service=SERVICE,
            host=settings.http_host,
            port=settings.http_port,
            checks={
                "mongodb": lambda: ping(self.client),
                "kafka": lambda: kafka_ready(self.broker),
                "consuming": self._consuming,
            },
        )
        self._started = False
        self._stopped = False

    def _consumer(
        self, topic: str, event_type: EventType, function: BatchFunction
    ) -> BatchConsumer:
        s = self.settings
        return BatchConsumer(
            BatchConsumerConfig(
                service=SERVICE,
                topic=topic,
                group_id=s.ingest_group_id,
                dead_letter_topic=s.topic_dead_letter,
                expected_type=event_type,
                max_records=s.ingest_max_records,
                batch_timeout_ms=s.ingest_batch_timeout_ms,
                max_poll_interval_ms=s.ingest_max_poll_interval_ms,
            ),
            function,
        )

    async def _created(self, batch: list[Received]) -> Outcome:
        return await self.ingest.on_created(batch)

    async def _status(self, batch: list[Received]) -> Outcome:
        return await self.ingest.on_status(batch)

    async def _consuming(self) -> bool:
        return self._started

    async def start(self) -> None:
        await self.health.start()
        await self._prepare_database()
        await self.broker.start()
        self._started = True
        log.info("order-ingest started", extra={"topics": [c.config.topic for c in self.consumers]})

    async def _prepare_database(self) -> None:
        """Indexes and crash repairs, retried while MongoDB is unreachable."""
        attempt = 0
        while True:
            try:
                await ensure_indexes(self.db)
                await self.ingest.repair()
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                attempt += 1
                log.warning("MongoDB not reachable at start-up, retrying: %s", exc)
                await asyncio.sleep(min(0.5 * 2**attempt, 10.0))

    async def stop(self) -> None:
        """Finish the batches in flight, commit them, and stop (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._started = False
        await asyncio.gather(*(c.drain(self.settings.ingest_drain_seconds) for c in self.consumers))
        with contextlib.suppress(Exception):
            await self.broker.stop()
        await self.health.stop()
        await self.client.close()
        log.info("order-ingest stopped")


async def run(settings: IngestSettings, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set, or until SIGTERM / SIGINT."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    app = IngestApp(settings)
    try:
        await app.start()
        await stop.wait()
    finally:
        await app.stop()
