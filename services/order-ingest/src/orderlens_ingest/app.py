"""Wiring: the MongoDB client and store, the service, the subscriber of both topics on the batch
consumer, the health server, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from orderlens import memory
from orderlens.capabilities import ServerCapabilities
from orderlens.consumer import is_transient
from orderlens.health import HealthServer, kafka_ready
from orderlens.indexes import ensure_indexes
from orderlens.lifecycle import run_until_signalled
from orderlens.mongo import database, make_client, ping
from orderlens_ingest.adapters import kafka_consumer as kafka
from orderlens_ingest.adapters.kafka_consumer import SERVICE
from orderlens_ingest.adapters.mongo_store import OrderStore
from orderlens_ingest.entrypoints.consumers import OrderEventsSubscriber
from orderlens_ingest.service import Ingest
from orderlens_ingest.settings import IngestSettings

__all__ = ["SERVICE", "IngestApp", "run"]
log = logging.getLogger("orderlens_ingest")


class IngestApp:
    """order-ingest in one object: `await start()`, then `await stop()` (drains and commits)."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.client = make_client(
            settings.mongodb_uri, app_name=SERVICE, timeout_ms=settings.mongodb_timeout_ms
        )
        self.db = database(self.client, settings.mongodb_database)
        self.ingest = Ingest(
            OrderStore(self.db), settings.risk_rules(), known_orders=settings.ingest_known_orders
        )
        self.broker = kafka.broker(settings)
        self.collector = memory.BatchCollector()  # docs/decisions/0198
        self.consumer = kafka.batch_consumer(
            settings,
            OrderEventsSubscriber(
                self.ingest,
                created_topic=settings.topic_orders_created,
                status_topic=settings.topic_status_changed,
            ),
            self.collector.between_batches,
        )
        self.consumer.attach(self.broker)
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

    async def _consuming(self) -> bool:
        return self._started

    async def start(self) -> None:
        await self.health.start()
        await self._prepare_database()
        await self.broker.start()
        self.collector.start()
        self._started = True
        self._check_partitions()
        log.info("order-ingest started")

    def _check_partitions(self) -> None:
        consumer = self.consumer.kafka_consumer
        if consumer is None:
            return
        topics = (self.settings.topic_orders_created, self.settings.topic_status_changed)
        counts = {t: len(consumer.partitions_for_topic(t) or ()) for t in topics}
        if len(set(counts.values())) > 1:
            log.error(
                "orders.created and orders.status-changed differ in partitions: one order's "
                "events may reach two consumers at once (their versioned writes then race)",
                extra={"partitions": counts},
            )

    async def _prepare_database(self) -> None:
        """Indexes and crash repairs, retried while MongoDB is unreachable."""
        attempt = 0
        while True:
            try:
                capabilities = await ServerCapabilities.read(self.db)
                self.ingest.store.compare_and_set = capabilities.atomic_conditional_updates
                self.ingest.store.id_list_chunk = capabilities.id_list_chunk
                await ensure_indexes(self.db, capabilities)
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
        await self.consumer.drain(self.settings.ingest_drain_seconds)
        with contextlib.suppress(Exception):
            await self.broker.stop()
        await self.health.stop()
        await self.client.close()
        self.collector.stop()
        log.info("order-ingest stopped")


async def run(settings: IngestSettings, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set, or until SIGTERM / SIGINT."""
    app = IngestApp(settings)
    await run_until_signalled(app.start, app.stop, stop)
